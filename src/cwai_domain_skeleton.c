/*
 * ngx_chatwootai core: the skeleton of a new domain ("cwai domain new").
 * Kept in the core so the unit tests can prove that a skeleton loads.
 */
#include "cwai_domain.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a YAML double-quoted scalar */
static void
yq(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char  ch = (unsigned char) *s;

        if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
        } else if (ch == '\n') {
            fputs("\\n", f);
        } else if (ch == '\t') {
            fputs("\\t", f);
        } else if (ch < 0x20) {
            fprintf(f, "\\x%02x", ch);
        } else {
            fputc(ch, f);
        }
    }
    fputc('"', f);
}

/* see cwai_domain.h */
void
cwai_domain_slugify(const char *name, char *out, size_t size)
{
    /* U+00C0 .. U+00FF (UTF-8 0xC3 0x80 .. 0xC3 0xBF) without accents */
    static const char  latin1[] =
        "aaaaaaaceeeeiiiidnooooo-ouuuuy-saaaaaaaceeeeiiiidnooooo-ouuuuy-y";
    const unsigned char  *p = (const unsigned char *) name;
    size_t                n = 0;
    int                   dash = 0;
    char                  ch;

    if (size == 0) {
        return;
    }
    for (; *p && n + 2 < size; p++) {
        ch = '-';
        if (*p < 0x80 && isalnum(*p)) {
            ch = (char) tolower(*p);
        } else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf) {
            ch = latin1[p[1] - 0x80];
            p++;
        } else if (*p >= 0x80) {
            while ((p[1] & 0xc0) == 0x80) {
                p++;            /* skip the rest of another UTF-8 character */
            }
        }
        if (ch == '-') {
            dash = 1;
            continue;
        }
        if (dash && n > 0) {
            out[n++] = '-';
        }
        dash = 0;
        out[n++] = ch;
    }
    out[n] = '\0';
}

static void
write_standalone_parts(FILE *f)
{
    fputs(
"\n"
"# Frases fixas por idioma (o idioma do domínio é obrigatório).\n"
"i18n:\n"
"  pt-BR:\n"
"    greeting: \"Olá! Aqui é {persona}, assistente virtual de {store}. Como posso ajudar?\"\n"
"    farewell: \"Obrigado pelo contato! Até logo.\"\n"
"    thanks: \"Por nada! Se precisar de mais alguma coisa, é só chamar.\"\n"
"    handoff: \"Vou chamar uma pessoa da nossa equipe para continuar o atendimento. Aguarde só um pouquinho.\"\n"
"    fallback: \"Não tenho certeza sobre isso. Vou pedir para alguém da equipe confirmar para você.\"\n"
"  en:\n"
"    greeting: \"Hi! This is {persona}, the virtual assistant of {store}. How can I help?\"\n"
"    farewell: \"Thanks for reaching out! Bye for now.\"\n"
"    handoff: \"I'm passing you to a member of our team. Please hold on a moment.\"\n"
"    fallback: \"I'm not sure about that. I'll ask someone from the team to confirm.\"\n"
"  es:\n"
"    greeting: \"¡Hola! Soy {persona}, asistente virtual de {store}. ¿En qué puedo ayudarte?\"\n"
"    farewell: \"¡Gracias por escribirnos! Hasta pronto.\"\n"
"    handoff: \"Te paso con una persona de nuestro equipo. Espera un momento, por favor.\"\n"
"    fallback: \"No estoy seguro de eso. Voy a pedir a alguien del equipo que lo confirme.\"\n"
"\n"
"agents:\n"
"  sales:\n"
"    name: Vendas\n"
"    handles: [produtos, preços, estoque, promoções]\n"
"  support:\n"
"    name: Suporte\n"
"    handles: [pedidos, entregas, trocas, pagamentos, horários]\n"
"  scheduling:\n"
"    name: Agendamento\n"
"    handles: [serviços, horários livres, agendar, remarcar, cancelar]\n"
"  handoff:\n"
"    name: Atendimento humano\n"
"    handles: [pedido de atendente, reclamações formais, riscos à saúde]\n"
"  smalltalk:\n"
"    name: Conversa\n"
"    handles: [saudações, agradecimentos, despedidas]\n"
"\n"
"labels:\n"
"  bot-handoff:\n"
"    description: O assistente transferiu a conversa para uma pessoa\n"
"    color: \"#D9480F\"\n"
"\n"
"handoff:\n"
"  confidence_threshold: 0.55\n"
"  labels: [bot-handoff]\n"
"  topics:\n"
"    human_request:\n"
"      description: A pessoa pede para falar com um humano\n"
"      keywords: [atendente, humano, falar com alguém, pessoa de verdade]\n"
"      priority: normal\n"
"\n"
"channels:\n"
"  whatsapp:\n"
"    max_length: 4096\n"
"    markup: whatsapp\n"
"    max_messages: 3\n"
"  web:\n"
"    max_length: 4000\n"
"    markup: markdown\n", f);
}

char *
cwai_domain_skeleton(const char *name, const char *description, const char *extends,
    int year, cwai_err_t *err)
{
    char    id[64];
    char   *buf = NULL;
    size_t  len = 0;
    FILE   *f;

    if (name == NULL || name[0] == '\0') {
        cwai_err_set(err, "domain_schema", "a domain needs a name");
        return NULL;
    }
    cwai_domain_slugify(name, id, sizeof(id));
    if (id[0] == '\0') {
        cwai_err_set(err, "domain_schema",
                     "the name \"%.100s\" needs at least one ASCII letter or digit", name);
        return NULL;
    }
    f = open_memstream(&buf, &len);
    if (f == NULL) {
        cwai_err_set(err, "domain_io", "out of memory");
        return NULL;
    }

    fprintf(f, "# %s — domínio criado por \"cwai domain new\".\n", name);
    fputs("# Preencha com os dados reais do negócio; o esquema está em docs/domains.md.\n"
          "# Valide com: cwai domain check ESTE_ARQUIVO\n"
          "version: 1\n", f);
    if (extends && extends[0]) {
        fputs("extends: ", f);
        yq(f, extends);
        fputc('\n', f);
    }
    fputs("\ndomain:\n  id: ", f);
    fputs(id, f);
    fputs("\n  name: ", f);
    yq(f, name);
    fputs("\n  description: ", f);
    yq(f, description ? description : "");
    fputs("\n"
          "  language: pt-BR\n"
          "  languages: [pt-BR, en, es]\n"
          "  timezone: America/Sao_Paulo\n"
          "  utc_offset: \"-03:00\"\n"
          "  currency: BRL\n"
          "  country: BR\n"
          "  contact:\n"
          "    address: \"Rua Exemplo, 100 – Centro, São Paulo – SP\"\n"
          "    whatsapp: \"+5511900000000\"\n"
          "    email: \"contato@example.com\"\n"
          "\n"
          "persona:\n"
          "  name: ", f);
    yq(f, "Assistente");
    fputs("\n  role: ", f);
    {
        char  role[512];

        snprintf(role, sizeof(role), "assistente virtual de %s", name);
        yq(f, role);
    }
    fputs("\n"
          "  tone: \"cordial, objetiva e acolhedora\"\n"
          "  formality: neutral\n"
          "  emoji: light\n", f);

    if (extends == NULL || extends[0] == '\0') {
        write_standalone_parts(f);
    }

    fprintf(f,
"\n"
"hours:\n"
"  weekly:\n"
"    monday: \"09:00-18:00\"\n"
"    tuesday: \"09:00-18:00\"\n"
"    wednesday: \"09:00-18:00\"\n"
"    thursday: \"09:00-18:00\"\n"
"    friday: \"09:00-18:00\"\n"
"    saturday: \"09:00-13:00\"\n"
"    sunday: closed\n"
"\n"
"holidays:\n"
"  - date: \"%d-12-25\"\n"
"    name: Natal\n"
"    kind: holiday\n"
"    closed: true\n"
"\n"
"intents:\n"
"  service_info:\n"
"    agent: scheduling\n"
"    description: Dúvidas sobre os serviços oferecidos\n"
"    examples:\n"
"      - \"quais serviços vocês oferecem?\"\n"
"      - \"quanto custa o atendimento?\"\n"
"    keywords: [serviço, valor, quanto custa]\n"
"\n"
"rules:\n"
"  - id: R-ATE-01\n"
"    title: Horário de atendimento\n"
"    text: \"Atendemos de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h.\"\n"
"    category: atendimento\n"
"    keywords: [horário, abre, fecha, funcionamento]\n"
"  - id: R-PAG-01\n"
"    title: Formas de pagamento\n"
"    text: \"Aceitamos Pix (5%% de desconto), cartão de crédito em até 3x sem juros e dinheiro.\"\n"
"    category: pagamento\n"
"    keywords: [pagamento, pix, cartão, parcelar]\n"
"    figures:\n"
"      pix_discount_percent: 5\n"
"      installments_max: 3\n"
"\n"
"faqs:\n"
"  - id: FAQ-01\n"
"    question: Qual o horário de atendimento?\n"
"    answer: \"De segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h.\"\n"
"    category: atendimento\n"
"    variants: [\"que horas vocês abrem?\", \"vocês abrem sábado?\"]\n"
"    rules: [R-ATE-01]\n"
"\n"
"services:\n"
"  - id: SRV-01\n"
"    name: Atendimento padrão\n"
"    category: geral\n"
"    description: Descreva aqui o serviço.\n"
"    duration_minutes: 60\n"
"    price: 100.00\n"
"\n"
"products:\n"
"  - sku: PRD-001\n"
"    name: Produto exemplo\n"
"    category: geral\n"
"    price: 49.90\n"
"    stock: 10\n"
"    description: Descreva aqui o produto.\n"
"    tags: [exemplo]\n", year);

    if (fclose(f) != 0) {
        free(buf);
        cwai_err_set(err, "domain_io", "out of memory");
        return NULL;
    }
    return buf;
}
