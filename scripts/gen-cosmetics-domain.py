#!/usr/bin/env python3
"""Writes domains/cosmetics.yaml from the store fixtures in t/fixtures/store.

The YAML is committed and stands alone; run this again only when the
fixtures change:

    python3 scripts/gen-cosmetics-domain.py > domains/cosmetics.yaml

Only the Python standard library is used.  Facts (products, services,
hours, holidays, professionals, free slots, rules, FAQs) come from the
fixtures; what the fixtures do not carry (machine-readable rule figures,
FAQ variants, intents with examples from conversations.json, templates,
synonyms) is written down below.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STORE = os.path.join(HERE, "..", "t", "fixtures", "store")


def load(name):
    with open(os.path.join(STORE, name), encoding="utf-8") as f:
        return json.load(f)


PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/]*$")
RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "closed"}


def q(s):
    """A YAML scalar for a string: plain when unambiguous, else double-quoted."""
    if PLAIN.match(s) and s.lower() not in RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def ql(items):
    return "[" + ", ".join(q(x) for x in items) + "]"


def money(x):
    return "%.2f" % x


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return money(v)
    return q(v)


# ---- facts the fixtures carry only as prose -------------------------------

FIGURES = {
    "R-ENT-01": {"free_shipping_min": 199.00, "free_shipping_tier": "ouro",
                 "shipping_grande_sp": 14.90, "shipping_interior_sp": 19.90,
                 "shipping_sul_sudeste": 24.90, "shipping_centro_oeste_nordeste": 29.90,
                 "shipping_norte": 34.90},
    "R-ENT-02": {"dispatch_business_days": 1, "days_grande_sp": "1 a 2",
                 "days_interior_sp": "2 a 4", "days_sul_sudeste": "3 a 6",
                 "days_centro_oeste_nordeste": "5 a 9", "days_norte": "7 a 12"},
    "R-ENT-03": {"express_fee": 24.90, "express_cutoff": "14:00", "express_deliver_by": "20:00"},
    "R-ENT-04": {"pickup_ready_hours": 2, "pickup_hold_days": 7},
    "R-ENT-05": {"carrier_claim_business_days": 1, "late_coupon": 20.00,
                 "late_coupon_after_business_days": 5},
    "R-ENT-06": {"delivery_attempts": 3, "international_shipping": False},
    "R-TRO-01": {"regret_days": 7},
    "R-TRO-02": {"defect_days": 30},
    "R-TRO-03": {"opened_exchange_allowed": False},
    "R-TRO-04": {"store_exchange_days": 30, "store_credit_months": 6},
    "R-TRO-05": {"refund_pix_business_days": 5, "refund_card_business_days": 2,
                 "refund_card_invoices": 2, "refund_boleto_business_days": 10},
    "R-TRO-06": {"damage_report_days": 7},
    "R-PAG-01": {"split_payment_allowed": False},
    "R-PAG-02": {"pix_discount_percent": 5, "pix_code_valid_minutes": 30},
    "R-PAG-03": {"installments_max": 6, "installment_min": 30.00, "service_installments_max": 3},
    "R-PAG-04": {"boleto_due_business_days": 3, "boleto_clearing_business_days": 2},
    "R-PAG-05": {"duplicate_refund_business_days": 2},
    "R-PRO-01": {"coupon_code": "BEMVINDA10", "coupon_percent": 10, "coupon_min_order": 100.00},
    "R-PRO-02": {"coupons_per_order": 1},
    "R-PRO-03": {"promo_ends_at": "23:59"},
    "R-PRO-04": {"campaign_from": "2026-12-01", "campaign_until": "2026-12-24",
                 "gift_min_order": 250.00},
    "R-PRO-05": {"referral_discount": 20.00, "referral_min_order": 150.00, "referral_points": 200},
    "R-FID-01": {"points_per_real": 1, "points_valid_months": 12},
    "R-FID-02": {"points_per_unit": 100, "unit_value": 5.00, "redeem_min_points": 200,
                 "redeem_max_percent": 50},
    "R-FID-03": {"prata_min_points": 1000, "ouro_min_points": 3000,
                 "prata_service_discount_percent": 5, "ouro_service_discount_percent": 10},
    "R-FID-04": {"points_transferable": False},
    "R-AGE-01": {"reminder_hours": 24, "confirm_deadline_hours": 12},
    "R-AGE-02": {"cancel_notice_hours": 24, "late_cancel_fee_percent": 50},
    "R-AGE-03": {"late_tolerance_minutes": 15},
    "R-AGE-04": {"guardian_required_under": 18, "min_age_default": 12, "min_age_restricted": 16},
    "R-AGE-06": {"evaluation_valid_days": 30, "bridal_deposit_percent": 30,
                 "bridal_deposit_refund_min_days": 7, "henna_test_hours": 48},
    "R-PRI-03": {"privacy_response_days": 15, "optout_keyword": "SAIR", "optout_hours": 48,
                 "photo_retention_days": 90},
    "R-ATE-02": {"bulk_units_handoff": 20, "human_response_minutes": 30},
    "R-ATE-04": {"emergency_phone": "192"},
    "R-ATE-05": {"payment_link_valid_hours": 24},
}

FAQ_VARIANTS = {
    "FAQ-01": ["a partir de quanto o frete é grátis?", "tem frete grátis?", "frete gratis a partir de qto?"],
    "FAQ-02": ["quanto é o frete?", "qual o valor do frete pra minha região?", "frete qto?"],
    "FAQ-03": ["quantos dias demora pra chegar?", "qual o prazo de entrega?", "quando chega meu pedido?"],
    "FAQ-04": ["entrega hoje?", "tem motoboy?", "chega no mesmo dia?"],
    "FAQ-05": ["posso buscar na loja?", "tem retirada?", "dá pra retirar pessoalmente?"],
    "FAQ-06": ["meu pedido está atrasado", "passou do prazo e não chegou", "pedido atrasado, e agora?"],
    "FAQ-07": ["errei o endereço, dá pra mudar?", "posso trocar o endereço de entrega?"],
    "FAQ-08": ["vocês entregam em Portugal?", "enviam para o exterior?", "do you ship internationally?"],
    "FAQ-09": ["me arrependi da compra", "quero devolver, não gostei", "posso desistir da compra?"],
    "FAQ-10": ["veio com defeito", "o produto veio vencido", "o creme veio com cheiro estranho"],
    "FAQ-11": ["abri e não gostei da cor, troca?", "posso trocar um batom usado?"],
    "FAQ-12": ["quando cai o reembolso?", "em quanto tempo recebo meu dinheiro de volta?", "quanto tempo demora o estorno?"],
    "FAQ-13": ["chegou quebrado", "veio faltando um item", "o produto vazou na caixa"],
    "FAQ-14": ["aceita cartão?", "quais as formas de pagamento?", "posso pagar no débito?"],
    "FAQ-15": ["pix tem desconto?", "quanto de desconto no pix?", "pagando no pix fica mais barato?"],
    "FAQ-16": ["parcela em quantas vezes?", "dá pra parcelar sem juros?", "no cartão em 6x?"],
    "FAQ-17": ["paguei o boleto, quando vocês mandam?", "quanto tempo o boleto compensa?"],
    "FAQ-18": ["tem cupom de primeira compra?", "tem desconto pra primeira compra?", "cupom de boas-vindas"],
    "FAQ-19": ["posso usar dois cupons?", "cupom é cumulativo?"],
    "FAQ-20": ["tem brinde no natal?", "ganho necessaire?", "qual o brinde de natal?"],
    "FAQ-21": ["como funciona o programa de pontos?", "como ganho pontos?", "quanto vale cada ponto?"],
    "FAQ-22": ["o que eu ganho no nível ouro?", "quais os benefícios do prata?", "como subo de nível?"],
    "FAQ-23": ["como marco um horário?", "como faço pra agendar?", "posso agendar pelo whatsapp?"],
    "FAQ-24": ["posso desmarcar?", "tem multa pra cancelar?", "preciso remarcar meu horário"],
    "FAQ-25": ["minha filha de 15 anos pode fazer?", "atende menor de idade?", "qual a idade mínima?"],
    "FAQ-26": ["avaliação de pele é grátis?", "quanto custa a avaliação?"],
    "FAQ-27": ["vocês pedem a senha do cartão?", "me pediram o código do cartão, é golpe?"],
    "FAQ-28": ["não quero mais receber promoções", "como saio da lista?", "parar de receber mensagens"],
    "FAQ-29": ["que horas vocês atendem?", "abre domingo?", "qual o horário da loja?"],
    "FAQ-30": ["quero falar com um atendente", "tem atendimento humano?", "posso falar com uma pessoa?"],
}

# Intents: examples are customer turns of conversations.json plus variations.
INTENTS = [
    ("greeting", "smalltalk", "Cumprimento sem pedido.",
     ["oiee\nbom diaa", "oi amiga", "Boa tarde", "boa noite", "oi! tudo bem?", "olá", "hello", "hola"],
     ["oi", "oie", "oiee", "olá", "ola", "bom dia", "boa tarde", "boa noite", "hello", "hola"],
     ["saudacao"], 0),
    ("thanks", "smalltalk", "Agradecimento, elogio ou confirmação sem novo pedido.",
     ["amei, obrigada 😍", "perfeito, obg!!", "ahh q legal, amo os produtos de vcs ❤️❤️",
      "blz, fico aguardando", "ok vou esperar entao", "pode ser 😘", "thank you!", "gracias"],
     ["obrigada", "obrigado", "obg", "brigada", "valeu", "amei", "amo", "perfeito", "fico aguardando", "thanks", "gracias"],
     ["saudacao"], 0),
    ("farewell", "smalltalk", "Despedida.",
     ["bjs", "tchau, até mais", "beijos!", "até logo", "bye", "adiós"],
     ["tchau", "bjs", "beijos", "até mais", "até logo", "bye", "adiós"],
     [], 0),
    ("product_recommendation", "sales", "Pede indicação de produto para uma necessidade.",
     ["oi! tenho pele seca e sensivel, qual hidratante vcs indicam?",
      "e pra tirar maquiagem? uso rimel a prova dagua",
      "tem protetor q nao arde? minha pele fica vermelha com qqr coisa",
      "meu cabelo ta caindo mt\noq vcs tem pra isso",
      "o que vocês indicam pra manchas?", "qual o melhor sérum pra pele oleosa?",
      "tem algo pra cabelo cacheado ressecado?", "what do you recommend for dry skin?"],
     ["indica", "indicam", "recomenda", "qual o melhor", "serve pra", "pra pele", "pele oleosa", "pele seca",
      "sensível", "manchas", "acne", "cabelo", "caindo", "queda", "ressecado", "cachos", "o que vocês tem pra"],
     ["vendas"], 0),
    ("price_query", "sales", "Preço de um produto, de um kit ou de uma compra.",
     ["vcs tem serum de niacinamida?\nqto ta", "e o gel de limpeza de acido salicilico?",
      "quanto fica tudo?", "quanto fica os 3 juntos?", "E se eu colocar o tônico capilar junto?",
      "quanto custa o protetor solar?", "qual o valor do kit natal glow?", "how much is the vitamin c serum?",
      "¿cuánto cuesta el sérum?"],
     ["quanto custa", "qto", "quanto fica", "quanto é", "preço", "preco", "valor", "quanto sai", "price", "precio"],
     ["vendas", "preco"], 5),
    ("promotion_query", "sales", "Se um produto está em promoção e até quando.",
     ["a mascara de cilios a prova dagua ta em promo?", "tem alguma promoção?", "o protetor tá com desconto?",
      "até quando vai a promoção?", "tem cupom de desconto?"],
     ["promo", "promoção", "promoçao", "oferta", "desconto", "cupom", "liquidação", "black friday", "até quando"],
     ["vendas", "promocao"], 5),
    ("stock_query", "sales", "Se um produto está disponível ou quando volta.",
     ["oiii vcs tem o body splash de baunilha e coco?? 😭", "a base tom 05 chegou?", "o sérum de ácido hialurônico voltou?",
      "tem o kit cronograma capilar?", "quando chega o spray fixador?"],
     ["tem", "estoque", "disponível", "disponivel", "esgotado", "acabou", "voltou", "chegou", "repor", "reposição"],
     ["vendas", "estoque"], 0),
    ("product_details", "sales", "Como usar, para que serve, composição de um produto.",
     ["da pra usar com lente de contato?", "esse sérum é vegano?", "pode usar de dia?", "serve pra pele sensível?",
      "qual o tamanho do frasco?"],
     ["como usa", "como usar", "pode usar", "serve pra", "vegano", "composição", "ingredientes", "lente de contato", "ml", "tamanho"],
     ["vendas"], 0),
    ("purchase", "sales", "Quer fechar a compra ou receber o link de pagamento.",
     ["fechado pode mandar o link 👍", "vou querer o kit manda o link", "vou levar 2 + o delineador",
      "e o kit manda pra casa, no pix", "fecha as duas coisas", "quero comprar", "pode montar o carrinho?"],
     ["manda o link", "fechado", "vou querer", "vou levar", "quero comprar", "carrinho", "link de pagamento", "fechar o pedido"],
     ["vendas"], 5),
    ("payment_quote", "sales", "Quanto fica no Pix ou parcelado, numa compra.",
     ["se eu levar os 2 no pix fica qto", "no cartao em 6x?", "quanto fica no pix?", "parcela em quantas vezes?",
      "nao dava pra trocar pra pix? queria o desconto"],
     ["no pix", "pix", "parcela", "parcelado", "6x", "3x", "vezes", "sem juros", "cartão", "cartao", "à vista"],
     ["vendas", "pagamento"], 3),
    ("shipping_quote", "sales", "Quanto é o frete e o prazo para o endereço da cliente.",
     ["blz, moro em sp capital\nfrete qto?", "quanto fica tudo? da frete gratis?",
      "Quero o shampoo antiqueda e o condicionador, quanto fica com frete?", "qual o frete pra Campinas?",
      "frete pra Recife?"],
     ["frete", "frete grátis", "frete gratis", "entrega pra", "moro em", "cep", "quanto fica com frete"],
     ["vendas", "entrega"], 3),
    ("delivery_info", "support", "Prazos, entrega expressa, retirada e área de entrega.",
     ["Olá, vocês entregam em Belo Horizonte? Quanto tempo demora?",
      "meu pedido de hoje vem por motoboy ne? chega q horas?", "entregam no mesmo dia?",
      "posso retirar na loja?", "vocês enviam pra fora do Brasil?"],
     ["entregam", "prazo", "demora", "quantos dias", "motoboy", "mesmo dia", "expressa", "retirada", "retirar", "exterior"],
     ["suporte", "entrega"], 0),
    ("order_status", "support", "Onde está o pedido, rastreio, atraso, cancelamento.",
     ["Boa tarde\nmeu pedido ainda nao chegou", "ta bom, e o meu pedido do shampoo? foi cancelado?",
      "qual o código de rastreio?", "meu pedido já saiu?", "o pedido tá atrasado"],
     ["meu pedido", "não chegou", "nao chegou", "rastreio", "rastreamento", "cadê", "atrasado", "já saiu", "foi cancelado"],
     ["suporte", "pedido"], 5),
    ("shipping_policy", "support", "Dúvida ou reclamação sobre o frete cobrado.",
     ["mas paguei quase 20 de frete pq nao foi gratis?", "por que cobraram frete?", "o frete grátis não valeu"],
     ["paguei frete", "cobraram frete", "por que frete", "não foi grátis", "nao foi gratis"],
     ["suporte", "entrega"], 0),
    ("returns_exchange", "support", "Troca, devolução, defeito, avaria, reembolso.",
     ["a mascara de argila q comprei veio com cheiro de podre 🤢\nta toda separada", "quero o dinheiro de volta",
      "veio quebrado", "me arrependi, quero devolver", "quando cai o reembolso?"],
     ["troca", "trocar", "devolver", "devolução", "defeito", "vencido", "quebrado", "vazou", "reembolso",
      "dinheiro de volta", "estorno", "cheiro"],
     ["suporte", "troca"], 5),
    ("payment_issue", "support", "Boleto, Pix expirado, cartão recusado, cobrança.",
     ["bom dia, gerei um boleto agora ha pouco e perdi", "se eu pagar hj quando vcs mandam?",
      "meu cartão foi recusado", "fui cobrada duas vezes", "o pix expirou"],
     ["boleto", "2ª via", "segunda via", "recusado", "cobrada duas vezes", "cobrança", "pix expirou", "compensação"],
     ["suporte", "pagamento"], 5),
    ("loyalty", "support", "Pontos, níveis e benefícios do Clube Bella.",
     ["quantos pontos eu tenho no clube?", "falta qto pra ouro?", "e o q eu ganho no ouro", "como uso meus pontos?"],
     ["pontos", "clube", "clube bella", "fidelidade", "nível", "ouro", "prata", "bronze", "resgatar"],
     ["suporte", "fidelidade"], 5),
    ("privacy", "support", "Dados de outra pessoa, LGPD, parar de receber mensagens, golpe.",
     ["oi, minha esposa comprou um hidratante ai, ta no nome dela, Gabriela Teixeira. ja saiu?",
      "mas eu sou o marido dela pode falar", "quero apagar meus dados", "SAIR", "pediram a senha do meu cartão"],
     ["no nome dela", "minha esposa", "meu marido", "minha mãe", "dados", "lgpd", "apagar meus dados", "sair", "senha", "golpe"],
     ["suporte", "privacidade"], 5),
    ("store_info", "support", "Onde fica a loja, canais oficiais, horário.",
     ["vcs sao de sp ne?", "onde fica a loja?", "qual o instagram de vocês?", "que horas abre sábado?"],
     ["onde fica", "endereço", "são de", "sao de", "loja física", "vila mariana", "instagram", "whatsapp", "horário"],
     ["suporte", "horario"], 0),
    ("schedule_appointment", "scheduling", "Marcar um serviço do estúdio.",
     ["oi, queria marcar uma hidratação facial quarta dia 2", "18h30 com a renata", "tem dia 12 de manha?",
      "pode marcar, é pra Yasmin", "oi, qria agendar limpeza de pele segunda dia 7", "dia 8 as 16h30 pode ser",
      "ah e queria aproveitar e marcar limpeza de pele com a camila", "maquiagem 14h30",
      "Paula Souza Andrade"],
     ["marcar", "agendar", "qria agendar", "horário", "horario", "vaga", "tem dia", "de manhã", "à tarde",
      "limpeza de pele", "hidratação facial", "massagem", "drenagem", "sobrancelha", "depilação", "maquiagem"],
     ["agendamento"], 5),
    ("reschedule", "scheduling", "Remarcar ou cancelar um agendamento.",
     ["oi, tenho massagem quinta às 15h e não vou conseguir ir", "quero remarcar pra terça dia 8, tem?", "17h",
      "preciso desmarcar meu horário", "posso trocar meu horário de amanhã?"],
     ["remarcar", "reagendar", "desmarcar", "cancelar meu horário", "não vou conseguir ir", "trocar o horário"],
     ["agendamento"], 5),
    ("service_requirements", "scheduling", "Idade mínima, gestantes, avaliação, teste de henna, contraindicações.",
     ["oi tenho 15 anos posso fazer depilação de meia perna ai?", "minha mae vai cmg", "estou grávida, posso fazer drenagem?",
      "preciso de avaliação antes do peeling?", "precisa fazer teste de henna?"],
     ["anos", "menor", "idade", "grávida", "gestante", "amamentando", "avaliação", "teste", "henna", "posso fazer", "contraindicação"],
     ["agendamento"], 3),
    ("service_info", "scheduling", "Preço, duração e descrição de serviços do estúdio.",
     ["quanto custa a limpeza de pele?", "quanto tempo dura a massagem relaxante?", "o que é o peeling de diamante?",
      "quanto é a maquiagem de noiva?", "tem pacote de drenagem?"],
     ["serviço", "procedimento", "estúdio", "quanto tempo dura", "duração", "pacote", "sessões", "noiva", "peeling"],
     ["agendamento"], 0),
    ("adverse_reaction", "handoff", "Reação adversa a produto ou procedimento.",
     ["usei o tonico de centella e minha pele ficou toda vermelha e ardendo", "nao ta inchado nao, so vermelho e coçando",
      "mas vcs trocam ne? o frasco ta quase cheio", "fiquei com alergia depois da henna"],
     ["vermelha", "vermelho", "ardendo", "ardência", "coçando", "coceira", "alergia", "reação", "inchado", "irritou", "queimou"],
     ["saude", "bot-handoff"], 30),
    ("resale", "handoff", "Compra para revenda ou acima de 20 unidades do mesmo item.",
     ["é sobre uma compra grande pra revender no meu salão", "vocês vendem no atacado?", "quero 30 unidades do sérum"],
     ["revender", "revenda", "atacado", "no meu salão", "compra grande", "unidades", "cnpj", "distribuidor"],
     ["revenda", "bot-handoff"], 20),
    ("human_request", "handoff", "Pede uma pessoa, muitas vezes irritada.",
     ["quero falar com um atendente", "5 dias?? q absurdo\nquero falar com alguem de verdade agora",
      "me passa pra uma pessoa", "quero falar com a gerente"],
     ["atendente", "alguém de verdade", "alguem de verdade", "pessoa", "humano", "gerente", "absurdo"],
     ["bot-handoff"], 10),
]

TEMPLATES = {
    "greeting": {
        "pt-BR": "Oi! 😊 Aqui é a {persona}, assistente virtual da {store}. Como posso te ajudar?",
        "en": "Hi! 😊 This is {persona}, the virtual assistant of {store}. How can I help you?",
        "es": "¡Hola! 😊 Soy {persona}, la asistente virtual de {store}. ¿En qué puedo ayudarte?",
    },
    "pix_total": {
        "pt-BR": "Os itens somam {total} e, no Pix, com {figure.pix_discount_percent}% de desconto, ficam {pix_total} (sem contar o frete).",
        "en": "The items add up to {total}; paying by Pix ({figure.pix_discount_percent}% off) it comes to {pix_total}, shipping not included.",
        "es": "Los productos suman {total}; pagando con Pix ({figure.pix_discount_percent}% de descuento) quedan en {pix_total}, sin el envío.",
    },
    "installments": {
        "pt-BR": "No cartão, {total} pode ser parcelado em até {installments}x sem juros de {installment_value} (parcela mínima de {figure.installment_min}).",
        "en": "By card, {total} can be split into up to {installments} interest-free payments of {installment_value}.",
        "es": "Con tarjeta, {total} se puede pagar en hasta {installments} cuotas sin interés de {installment_value}.",
    },
    "shipping": {
        "pt-BR": "Para {region}, o frete padrão é {shipping} e a entrega leva de {days} dias úteis após o despacho. Acima de {figure.free_shipping_min} em produtos o frete é grátis.",
        "en": "To {region}, standard shipping is {shipping} and takes {days} business days after dispatch. Orders over {figure.free_shipping_min} ship free.",
        "es": "Para {region}, el envío estándar cuesta {shipping} y tarda {days} días hábiles después del despacho. Por encima de {figure.free_shipping_min} el envío es gratis.",
    },
    "booking_confirmed": {
        "pt-BR": "Prontinho! {service} agendado para {weekday}, {date}, às {time}, com {professional}. O pagamento é feito na loja no dia. Enviamos um lembrete 24 horas antes. 💛",
        "en": "All set! {service} booked for {weekday}, {date} at {time} with {professional}. You pay at the store on the day; we'll send a reminder 24 hours before.",
        "es": "¡Listo! {service} reservado para el {weekday} {date} a las {time} con {professional}. El pago se hace en la tienda el mismo día; enviaremos un recordatorio 24 horas antes.",
    },
    "loyalty_balance": {
        "pt-BR": "Você tem {points} pontos no Clube Bella (nível {tier}), que valem {points_value} em desconto.",
        "en": "You have {points} Clube Bella points ({tier} tier), worth {points_value} in discounts.",
        "es": "Tienes {points} puntos en el Clube Bella (nivel {tier}), que valen {points_value} de descuento.",
    },
}

SYNONYMS = {
    "rimel": "máscara de cílios",
    "rímel": "máscara de cílios",
    "tirar maquiagem": "demaquilante água micelar",
    "caindo": "queda antiqueda",
    "queda de cabelo": "antiqueda",
    "protetor": "protetor solar",
    "filtro solar": "protetor solar",
    "serum": "sérum",
    "xampu": "shampoo",
    "creme de cabelo": "máscara capilar",
    "hidratante de rosto": "hidratante facial",
    "perfume": "eau de parfum",
    "colonia": "body splash",
    "espinha": "acne",
    "cravos": "acne poros",
    "olheira": "olheiras área dos olhos",
    "pele oleosa": "oleosidade",
    "cacheado": "cachos",
    "promo": "promoção",
}


def weekly(opening):
    out = []
    for day in ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]:
        h = opening[day]
        if h.get("closed"):
            out.append("    %s: closed" % day)
        else:
            out.append('    %s: "%s-%s"' % (day, h["open"], h["close"]))
    return out


def main():
    catalog = load("catalog.json")
    svc = load("services.json")
    slots = load("slots.json")
    rules = load("rules.json")
    faqs = load("faqs.json")
    store = svc["store"]
    pro_by_name = {p["name"]: p["id"] for p in svc["professionals"]}
    L = []
    w = L.append

    w("# cosmetics.yaml — Bela Pele Cosméticos (fictional store and beauty studio, São Paulo).")
    w("# Generated by scripts/gen-cosmetics-domain.py from t/fixtures/store/*.json;")
    w("# the file stands alone.  Schema: docs/domains.md.")
    w("version: 1")
    w("extends: base.yaml")
    w("")
    w("domain:")
    w("  id: cosmetics")
    w("  name: %s" % q(store["name"]))
    w("  description: %s" % q("Loja de cosméticos e estúdio de beleza em São Paulo: skincare, maquiagem, "
                              "cabelos, corpo, perfumaria e kits, com serviços de estética."))
    w("  timezone: %s" % store["timezone"])
    w("  contact:")
    w("    address: %s" % q(store["address"]))
    w("    whatsapp: %s" % q(store["whatsapp"]))
    w("    instagram: %s" % q(store["instagram"]))
    w("    email: %s" % q(store["email"]))
    w("    privacy_email: %s" % q(store["privacy_email"]))
    w("")
    w("persona:")
    w("  name: Bela")
    w("  role: %s" % q("assistente virtual da Bela Pele Cosméticos"))
    w("  tone: %s" % q("calorosa, próxima e objetiva, como uma vendedora experiente de loja de bairro; "
                       "fala de skincare com segurança, sem exageros"))
    w("  formality: informal")
    w("  emoji: moderate")
    w("  greeting: %s" % q("Oi! 😊 Aqui é a Bela, assistente virtual da Bela Pele Cosméticos. Como posso te ajudar?"))
    w("  farewell: %s" % q("Obrigada por falar com a Bela Pele! Qualquer coisa, é só chamar. 💛"))
    w("")
    w("hours:")
    w("  weekly:")
    L.extend(weekly(svc["opening_hours"]))
    w("  # atendimento humano (R-ATE-01)")
    w("  support:")
    w('    monday: "09:00-18:00"')
    w('    tuesday: "09:00-18:00"')
    w('    wednesday: "09:00-18:00"')
    w('    thursday: "09:00-18:00"')
    w('    friday: "09:00-18:00"')
    w('    saturday: "09:00-13:00"')
    w("    sunday: closed")
    w("")
    kinds = {"fechamento": "closure", "horario_especial": "special_hours", "feriado": "holiday"}
    w("holidays:")
    for h in svc["holidays_and_special_dates"]:
        w('  - date: "%s"' % h["date"])
        w("    name: %s" % q(h["name"]))
        w("    kind: %s" % kinds[h["type"]])
        if h["closed"]:
            w("    closed: true")
        else:
            w('    hours: "%s-%s"' % (h["open"], h["close"]))
        w("    services: %s" % ("true" if h["services"] else "false"))
        w("    note: %s" % q(h["note"]))
    w("")

    w("professionals:")
    for p in svc["professionals"]:
        w("  - id: %s" % p["id"])
        w("    name: %s" % q(p["name"]))
        w("    role: %s" % q(p["role"]))
        w("    works_on: %s" % ql(p["works_on"]))
        w("    services: %s" % ql(p["services"]))
        # their calendar in the store's Odoo (available_slots, book_appointment)
        w("    erp_user_id: %d" % p["odoo_user_id"])
        w("    erp_partner_id: %d" % p["odoo_partner_id"])
    w("")

    w("services:")
    for s in svc["services"]:
        w("  - id: %s" % s["id"])
        w("    name: %s" % q(s["name"]))
        w("    category: %s" % q(s["category"]))
        w("    description: %s" % q(s["description"]))
        w("    duration_minutes: %d" % s["duration_minutes"])
        w("    price: %s" % money(s["price"]))
        if s["requirements"]:
            w("    requirements:")
            for r in s["requirements"]:
                w("      - %s" % q(r))
        if s["contraindications"]:
            w("    contraindications:")
            for r in s["contraindications"]:
                w("      - %s" % q(r))
        w("    min_age: %d" % s["min_age"])
        w("    guardian_required_under: %d" % s["guardian_required_under"])
        if "deposit_percent" in s:
            w("    deposit_percent: %d" % s["deposit_percent"])
        if "package" in s:
            pk = s["package"]
            w("    package: {sessions: %d, price: %s, valid_days: %d}"
              % (pk["sessions"], money(pk["price"]), pk["valid_days"]))
        for name in s["professionals"]:
            assert s["id"] in next(p for p in svc["professionals"] if p["name"] == name)["services"]
    w("")

    w("# Free studio slots snapshot (slots.json); days without slots are full,")
    w("# closed (holidays) or shop-only.")
    w("availability:")
    w("  slot_minutes: 30")
    w("  horizon_days: 14")
    w("  must_end_by_close: true")
    w('  breaks: "%s-%s"' % (svc["studio_rules"]["lunch_break"]["start"], svc["studio_rules"]["lunch_break"]["end"]))
    w('  slots_from: "%s"' % slots["range"]["from"])
    w('  slots_to: "%s"' % slots["range"]["to"])
    w("  slots:")
    for d in slots["days"]:
        for s in sorted(d["slots"], key=lambda x: (x["start"], x["slot_id"])):
            w('    - {id: %s, date: "%s", start: "%s", end: "%s", service: %s, professional: %s}'
              % (s["slot_id"], d["date"], s["start"], s["end"], s["service_id"], pro_by_name[s["professional"]]))
    w("")

    w("products:")
    for p in catalog:
        w("  - sku: %s" % p["default_code"])
        w("    erp_id: %d" % p["id"])
        w("    name: %s" % q(p["name"]))
        w("    category: %s" % q(p["category"]))
        w("    brand: %s" % q(p["brand"]))
        w("    price: %s" % money(p["list_price"]))
        if "promo_price" in p:
            w("    promo_price: %s" % money(p["promo_price"]))
            w('    promo_until: "%s"' % p["promo_until"])
        w("    stock: %d" % p["qty_available"])
        if "expected_restock" in p:
            w('    restock_date: "%s"' % p["expected_restock"])
        if not p["active"]:
            w("    active: false")
        w("    description: %s" % q(p["description_sale"]))
        w("    tags: %s" % ql(p["tags"]))
        if "kit_components" in p:
            w("    components: %s" % ql(p["kit_components"]))
        w("    attributes:")
        w("      skin_types: %s" % ql(p["skin_types"]))
        if "hair_types" in p:
            w("      hair_types: %s" % ql(p["hair_types"]))
    w("")

    w("rules:")
    for r in rules:
        w("  - id: %s" % r["id"])
        w("    title: %s" % q(r["title"]))
        w("    category: %s" % r["category"])
        w("    text: %s" % q(r["text"]))
        w("    keywords: %s" % ql(r["keywords"]))
        fig = FIGURES.get(r["id"])
        if fig:
            w("    figures:")
            for k, v in fig.items():
                w("      %s: %s" % (k, scalar(v)))
    w("")

    w("faqs:")
    for f in faqs:
        w("  - id: %s" % f["id"])
        w("    category: %s" % f["category"])
        w("    question: %s" % q(f["question"]))
        w("    answer: %s" % q(f["answer"]))
        w("    variants: %s" % ql(FAQ_VARIANTS[f["id"]]))
        w("    rules: %s" % ql(f["rule_ids"]))
    w("")

    w("labels:")
    w('  troca: {description: "Troca, devolução ou reembolso", color: "#1864AB"}')
    w('  entrega: {description: "Frete, prazos e entregas", color: "#1971C2"}')
    w('  fidelidade: {description: "Clube Bella: pontos e níveis", color: "#E8590C"}')
    w('  promocao: {description: "Promoções e cupons", color: "#5C940D"}')
    w('  privacidade: {description: "Dados pessoais, LGPD e segurança", color: "#495057"}')
    w('  revenda: {description: "Compra para revenda ou atacado", color: "#9C36B5"}')
    w("")

    w("# Intents: examples are customer turns from t/fixtures/store/conversations.json")
    w("# plus common variations; they merge with (and replace) base.yaml's intents.")
    w("intents:")
    for (iid, agent, desc, ex, kw, labels, prio) in INTENTS:
        w("  %s:" % iid)
        w("    agent: %s" % agent)
        w("    description: %s" % q(desc))
        w("    examples:")
        for e in ex:
            w("      - %s" % q(e))
        w("    keywords: %s" % ql(kw))
        if labels:
            w("    labels: %s" % ql(labels))
        if prio:
            w("    priority: %d" % prio)
    w("")

    w("templates:")
    for key, texts in TEMPLATES.items():
        w("  %s:" % key)
        w("    text:")
        for lang, t in texts.items():
            w("      %s: %s" % (lang, q(t)))
    w("")

    w("handoff:")
    w("  topics:")
    w("    medical_risk:")
    w("      rules: [R-ATE-04, R-TRO-03, R-AGE-05]")
    w("    legal_threat:")
    w("      rules: [R-ATE-02]")
    w("    resale:")
    w("      description: %s" % q("Compra para revenda, atacado ou acima de 20 unidades do mesmo item."))
    w("      keywords: %s" % ql(["revenda", "revender", "atacado", "no meu salão", "compra grande", "cnpj",
                                 "distribuidor", "20 unidades", "30 unidades"]))
    w("      examples: %s" % ql(["é sobre uma compra grande pra revender no meu salão", "vocês vendem no atacado?"]))
    w("      labels: [revenda, bot-handoff]")
    w("      priority: normal")
    w("      rules: [R-ATE-02]")
    w("    exception_request:")
    w("      description: %s" % q("Pedido de exceção às regras (prazo, desconto, brinde, troca fora da política)."))
    w("      keywords: %s" % ql(["exceção", "abrir uma exceção", "só dessa vez", "me dá um desconto", "libera",
                                 "fora do prazo", "não tem como"]))
    w("      examples: %s" % ql(["não tem como abrir uma exceção só dessa vez?", "me dá um desconto a mais?"]))
    w("      labels: [bot-handoff]")
    w("      priority: normal")
    w("      rules: [R-ATE-02, R-ATE-03]")
    w("")

    w("synonyms:")
    for k, v in SYNONYMS.items():
        w("  %s: %s" % (q(k), q(v)))

    sys.stdout.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
