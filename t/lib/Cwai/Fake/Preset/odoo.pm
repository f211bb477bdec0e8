package Cwai::Fake::Preset::odoo;

# Fake Odoo 19 (JSON-2 "POST /json/2/<model>/<method>" and legacy
# "POST /jsonrpc") over the store data of t/fixtures/store: a small ORM
# (domains in Polish notation, fields, order, limit/offset, active_test,
# many2one display names, Python-style floats) and the real error shapes.
# Options:
#
#   { odoo => { options => {
#         key   => '3f9a1c0e5b7d2a4c6e8f0a1b2c3d4e5f6a7b8c9d',  # API key (JSON-2 bearer,
#                                   # JSON-RPC password); undef: any key
#         db    => 'belapele', uid => 7,
#         login => 'bot-atendimento@belapele.example.com.br',
#         version => 19,            # 18: no JSON-2 (HTML 404), error.code 200, res.partner.mobile
#         phone_style => 'e164',    # how partners' phones are stored: e164 (+5511987412365),
#                                   # formatted (+55 11 98741-2365), national ((11) 98741-2365)
#         phone_validation => 1,    # 0: no phone_mobile_search field (ValueError)
#         today => '2026-11-30',    # promotions valid until x_promo_until >= today
#         script => { json2 => ['500'], 'res.partner/search_read' => ['LockError', 'pass'] },
#     } } }
#
# Script endpoints: "MODEL/METHOD" (either API), json2, jsonrpc, '*'.
# Named failures: LockError (409 / JSON-RPC error), AccessDenied, AccessError,
# UserError, ValidationError, MissingError, TypeError, ValueError, internal
# (500), plus the generic ones of Cwai::Fake::Proto.
#
# Models: product.product, product.template (read-only mirror),
# product.category, product.pricelist, res.partner, res.users,
# res.currency, sale.order, sale.order.line, calendar.event,
# ir.module.module.  Methods: search_read, search, search_count, read,
# name_search, fields_get, create/write (calendar.event), unlink
# (sale.order: UserError on confirmed orders), get_contextual_price
# (product.product), context_get (res.users).

use strict;
use warnings;
use utf8;

use Cwai::Fake ();
use Cwai::Fake::Proto qw(json_decode json_encode py_float store script_step apply_script
                         fixture_file);
use JSON::PP ();
use B ();

my $TRUE  = JSON::PP::true;
my $FALSE = JSON::PP::false;
my $KEY   = '3f9a1c0e5b7d2a4c6e8f0a1b2c3d4e5f6a7b8c9d';

Cwai::Fake::preset(odoo => sub {
    my %o = @_;
    my $opt = {
        key => exists $o{key} ? $o{key} : $KEY,
        db => $o{db} // 'belapele', uid => $o{uid} // 7,
        login => $o{login} // 'bot-atendimento@belapele.example.com.br',
        version => $o{version} // 19, phone_style => $o{phone_style} // 'e164',
        phone_validation => $o{phone_validation} // 1, today => $o{today} // '2026-11-30',
        script => $o{script},
    };
    my $st = { counters => {}, db => build_db($opt) };
    return { routes => { '* /*' => sub { dispatch($_[0], $opt, $st) } } };
});

# ---------------------------------------------------------------------------
# errors

package Cwai::Fake::Preset::odoo::Exc {
    sub new { my ($c, $name, $msg, %o) = @_; bless { name => $name, message => $msg, %o }, $c }
}
sub exc { die Cwai::Fake::Preset::odoo::Exc->new(@_) }

my %EXC_STATUS = (
    'werkzeug.exceptions.BadRequest' => 400, 'werkzeug.exceptions.Unauthorized' => 401,
    'odoo.exceptions.AccessError' => 403, 'odoo.exceptions.AccessDenied' => 403,
    'werkzeug.exceptions.NotFound' => 404, 'odoo.exceptions.MissingError' => 404,
    'odoo.exceptions.LockError' => 409, 'werkzeug.exceptions.UnprocessableEntity' => 422,
    'odoo.exceptions.UserError' => 422, 'odoo.exceptions.ValidationError' => 422,
);
my %WERKZEUG_CODE = (400 => 1, 401 => 1, 404 => 1, 422 => 1);

my %NAMED = (
    LockError       => ['odoo.exceptions.LockError', 'Cannot acquire the lock: the record is being modified by another transaction. Please retry.'],
    AccessDenied    => ['odoo.exceptions.AccessDenied', 'Access Denied'],
    AccessError     => ['odoo.exceptions.AccessError', 'You are not allowed to access this document.'],
    UserError       => ['odoo.exceptions.UserError', 'Operação não permitida.'],
    ValidationError => ['odoo.exceptions.ValidationError', 'The operation cannot be completed.'],
    MissingError    => ['odoo.exceptions.MissingError', 'Record does not exist or has been deleted.'],
    TypeError       => ['builtins.TypeError', 'unexpected argument'],
    ValueError      => ['builtins.ValueError', 'Invalid value'],
    internal        => ['builtins.Exception', 'Internal server error'],
);

sub exc_body {
    my ($e, $status) = @_;
    my $args = [ $e->{message}, ($WERKZEUG_CODE{$status} && $e->{name} =~ /^werkzeug/ ? ($status) : ()) ];
    return { name => $e->{name}, message => $e->{message}, arguments => $args, context => {},
             debug => "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/http.py\", line 123, "
                    . "in dispatch\n    ...\n$e->{name}: $e->{message}\n" };
}

sub json_resp {
    my ($status, $data, %h) = @_;
    return { status => $status, headers => { 'Content-Type' => 'application/json; charset=utf-8', %h },
             body => json_encode($data) };
}

sub json2_error {
    my ($e) = @_;
    my $status = $e->{status} // $EXC_STATUS{ $e->{name} } // 500;
    return json_resp($status, exc_body($e, $status),
                     $status == 401 ? ('WWW-Authenticate' => 'Bearer') : ());
}

sub rpc_error {
    my ($opt, $id, $e, $status) = @_;
    my $code = $opt->{version} >= 19 ? 0 : 200;
    $code = 100 if $e->{name} eq 'odoo.http.SessionExpiredException';
    return json_resp($status // 200, { jsonrpc => '2.0', id => $id,
        error => { code => $code, message => 'Odoo Server Error', data => exc_body($e, 0) } });
}

sub html {
    my ($status) = @_;
    my %t = (
        404 => ['Not Found', 'The requested URL was not found on the server. If you entered the URL '
                . 'manually please check your spelling and try again.'],
        405 => ['Method Not Allowed', 'The method is not allowed for the requested URL.'],
        415 => ['Unsupported Media Type', 'The server does not support the media type transmitted in '
                . 'the request.'],
    );
    my ($title, $p) = @{ $t{$status} };
    return { status => $status, headers => { 'Content-Type' => 'text/html; charset=utf-8' },
             body => "<!doctype html>\n<html lang=en>\n<title>$status $title</title>\n<h1>$title</h1>\n<p>$p</p>\n" };
}

# ---------------------------------------------------------------------------
# the database

my %CATEG = (
    skincare => [8, 'Cuidados com a Pele'], maquiagem => [9, 'Maquiagem'], cabelos => [10, 'Cabelos'],
    corpo => [11, 'Corpo e Banho'], perfumaria => [12, 'Perfumaria'], kits => [13, 'Kits'],
);
my %UF = (SP => [1, 'São Paulo'], RJ => [2, 'Rio de Janeiro'], MG => [3, 'Minas Gerais'],
          PR => [4, 'Paraná'], RS => [5, 'Rio Grande do Sul'], SC => [6, 'Santa Catarina'],
          BA => [7, 'Bahia'], PE => [8, 'Pernambuco'], DF => [9, 'Distrito Federal'],
          CE => [10, 'Ceará'], GO => [11, 'Goiás'], ES => [12, 'Espírito Santo'],
          PA => [13, 'Pará'], AM => [14, 'Amazonas']);

sub F { my ($type, $string, %o) = @_; return { type => $type, string => $string, %o } }

sub format_phone {
    my ($p, $style) = @_;
    return $p if $style eq 'e164' || $p !~ /^\+55(\d\d)(\d{4,5})(\d{4})$/;
    return "+55 $1 $2-$3" if $style eq 'formatted';
    return "($1) $2-$3";
}

sub utc {      # local (UTC-3) "YYYY-MM-DD HH:MM[:SS]" -> UTC "YYYY-MM-DD HH:MM:SS"
    my ($date, $time) = @_;
    my ($y, $m, $d) = split /-/, $date;
    my ($H, $M, $S) = split /:/, $time;
    require Time::Local;
    my $t = Time::Local::timegm($S // 0, $M, $H, $d, $m - 1, $y) + 3 * 3600;
    my @g = gmtime $t;
    return sprintf('%04d-%02d-%02d %02d:%02d:%02d', $g[5] + 1900, $g[4] + 1, @g[3, 2, 1, 0]);
}

sub _min { my ($h, $m) = split /:/, shift; return $h * 60 + $m }
sub _hm { my $x = shift; return sprintf('%02d:%02d', int($x / 60), $x % 60) }

sub build_db {
    my ($opt) = @_;
    my %db;
    my $model = sub {
        my ($name, $desc, $order, $fields, @recs) = @_;
        $fields->{id} = F('integer', 'ID');
        $fields->{display_name} = F('char', 'Display Name');
        $db{$name} = { name => $name, desc => $desc, order => $order, fields => $fields,
                       recs => { map { $_->{id} => $_ } @recs }, ids => [ map { $_->{id} } @recs ] };
    };

    $model->('res.currency', 'Currency', 'name', { name => F('char', 'Currency'), symbol => F('char', 'Symbol'),
        active => F('boolean', 'Active') }, { id => 6, name => 'BRL', symbol => 'R$', active => 1 });
    $model->('res.country', 'Country', 'name', { name => F('char', 'Country Name'), code => F('char', 'Country Code') },
        { id => 31, name => 'Brasil', code => 'BR' });
    $model->('res.country.state', 'Country state', 'country_id, code',
        { name => F('char', 'State Name'), code => F('char', 'State Code'),
          country_id => F('many2one', 'Country', relation => 'res.country') },
        map { { id => $UF{$_}[0], name => $UF{$_}[1], code => $_, country_id => 31,
                display_name => "$UF{$_}[1] (BR)" } } sort keys %UF);
    $model->('uom.uom', 'Product Unit of Measure', 'name', { name => F('char', 'Unit') },
        { id => 1, name => 'Unidades' });
    $model->('product.category', 'Product Category', 'complete_name',
        { name => F('char', 'Name'), complete_name => F('char', 'Complete Name'),
          parent_id => F('many2one', 'Parent Category', relation => 'product.category') },
        { id => 7, name => 'Cosméticos', complete_name => 'Cosméticos', parent_id => undef },
        map { { id => $CATEG{$_}[0], name => $CATEG{$_}[1], complete_name => "Cosméticos / $CATEG{$_}[1]",
                parent_id => 7, display_name => "Cosméticos / $CATEG{$_}[1]" } } sort keys %CATEG);
    $model->('product.pricelist', 'Pricelist', 'sequence, id',
        { name => F('char', 'Pricelist Name'), currency_id => F('many2one', 'Currency', relation => 'res.currency'),
          active => F('boolean', 'Active'), sequence => F('integer', 'Sequence') },
        { id => 1, name => 'Tabela pública', currency_id => 6, active => 1, sequence => 1,
          display_name => 'Tabela pública (BRL)' },
        { id => 4, name => 'Clientes VIP (10% off)', currency_id => 6, active => 1, sequence => 4,
          display_name => 'Clientes VIP (10% off) (BRL)' });

    # products
    my %pf = (
        name => F('char', 'Name'), default_code => F('char', 'Internal Reference'),
        barcode => F('char', 'Barcode'), list_price => F('float', 'Sales Price'),
        lst_price => F('float', 'Sales Price'), standard_price => F('float', 'Cost'),
        qty_available => F('float', 'Quantity On Hand'), free_qty => F('float', 'Free To Use Quantity'),
        virtual_available => F('float', 'Forecasted Quantity'), incoming_qty => F('float', 'Incoming'),
        outgoing_qty => F('float', 'Outgoing'), description_sale => F('text', 'Sales Description'),
        categ_id => F('many2one', 'Product Category', relation => 'product.category'),
        uom_id => F('many2one', 'Unit', relation => 'uom.uom'),
        currency_id => F('many2one', 'Currency', relation => 'res.currency'),
        product_tmpl_id => F('many2one', 'Product Template', relation => 'product.template'),
        sale_ok => F('boolean', 'Can be Sold'), purchase_ok => F('boolean', 'Can be Purchased'),
        active => F('boolean', 'Active'), is_storable => F('boolean', 'Track Inventory'),
        type => F('selection', 'Product Type', selection => [['consu', 'Goods'], ['service', 'Service'], ['combo', 'Combo']]),
        x_brand => F('char', 'Marca'), x_promo_price => F('float', 'Preço promocional'),
        x_promo_until => F('date', 'Promoção até'), x_expected_restock => F('date', 'Previsão de reposição'),
        x_skin_types => F('char', 'Tipos de pele'), x_hair_types => F('char', 'Tipos de cabelo'),
        x_tags => F('char', 'Tags'), x_kit_components => F('char', 'Itens do kit'),
    );
    my @products;
    for my $p (@{ store('catalog') }) {
        my $incoming = $p->{expected_restock} ? 24 : 0;
        push @products, {
            id => $p->{id}, name => $p->{name}, default_code => $p->{default_code}, barcode => undef,
            display_name => "[$p->{default_code}] $p->{name}",
            list_price => $p->{list_price}, lst_price => $p->{list_price},
            standard_price => 0 + sprintf('%.2f', $p->{list_price} * 0.45),
            qty_available => $p->{qty_available}, free_qty => $p->{qty_available},
            virtual_available => $p->{qty_available} + $incoming, incoming_qty => $incoming,
            outgoing_qty => 0, description_sale => $p->{description_sale} || undef,
            categ_id => ($CATEG{ $p->{category} } || [7])->[0], uom_id => 1, currency_id => 6,
            product_tmpl_id => $p->{id}, sale_ok => 1, purchase_ok => 1,
            active => $p->{active} ? 1 : 0, is_storable => 1, type => 'consu',
            x_brand => $p->{brand}, x_promo_price => $p->{promo_price},
            x_promo_until => $p->{promo_until}, x_expected_restock => $p->{expected_restock},
            x_skin_types => join(', ', @{ $p->{skin_types} || [] }) || undef,
            x_hair_types => join(', ', @{ $p->{hair_types} || [] }) || undef,
            x_tags => join(', ', @{ $p->{tags} || [] }) || undef,
            x_kit_components => join(', ', @{ $p->{kit_components} || [] }) || undef,
            _category => $p->{category},
        };
    }
    $model->('product.product', 'Product Variant', 'default_code, name, id', {%pf}, @products);
    my %tf = %pf;
    delete @tf{qw(product_tmpl_id barcode)};
    $tf{product_variant_ids} = F('one2many', 'Products', relation => 'product.product');
    $model->('product.template', 'Product', 'name', \%tf,
             map { { %$_, product_variant_ids => [ $_->{id} ] } } @products);

    # people
    my $services = store('services');
    my @staff = @{ $services->{professionals} };
    my (%staff_uid, %staff_pid);
    my @users = ({ id => $opt->{uid}, name => 'Bot Atendimento', login => $opt->{login},
                   partner_id => $opt->{uid}, active => 1, tz => 'America/Sao_Paulo', lang => 'pt_BR' });
    my @partners = (
        { id => 1, name => 'Bela Pele Cosméticos', is_company => 1, phone => '+5511955550100',
          email => 'contato@bellapele.example', city => 'São Paulo', state_id => 1, country_id => 31,
          active => 1, lang => 'pt_BR', property_product_pricelist => 1 },
        { id => $opt->{uid}, name => 'Bot Atendimento', email => $opt->{login}, active => 1,
          lang => 'pt_BR', property_product_pricelist => 1, country_id => 31 },
    );
    for my $s (@staff) {
        my $uid = $s->{odoo_user_id};
        my $pid = $s->{odoo_partner_id};
        $staff_uid{ $s->{name} } = $uid;
        $staff_pid{ $s->{name} } = $pid;
        push @users, { id => $uid, name => $s->{name}, login => lc($s->{name} =~ s/\s.*//r) . '@bellapele.example',
                       partner_id => $pid, active => 1, tz => 'America/Sao_Paulo', lang => 'pt_BR' };
        push @partners, { id => $pid, name => $s->{name}, email => lc($s->{name} =~ s/\s.*//r) . '@bellapele.example',
                          active => 1, lang => 'pt_BR', property_product_pricelist => 1, country_id => 31,
                          function => $s->{role} };
    }
    my $orders = store('orders');
    my %order_count;
    $order_count{ $_->{partner_id} }++ for @$orders;
    for my $c (@{ store('customers') }) {
        push @partners, {
            id => $c->{id}, name => $c->{name}, phone => format_phone($c->{phone}, $opt->{phone_style}),
            email => $c->{email}, city => $c->{city}, state_id => ($UF{ $c->{state} } || [undef])->[0],
            country_id => 31, lang => 'pt_BR', active => 1, is_company => 0,
            property_product_pricelist => $c->{loyalty_tier} eq 'ouro' ? 4 : 1,
            sale_order_count => $order_count{ $c->{id} } // 0,
            x_skin_type => $c->{skin_type}, x_loyalty_points => $c->{loyalty_points},
            x_loyalty_tier => $c->{loyalty_tier},
        };
    }
    my %partf = (
        name => F('char', 'Name'), phone => F('char', 'Phone'), email => F('char', 'Email'),
        street => F('char', 'Street'), city => F('char', 'City'), zip => F('char', 'Zip'),
        vat => F('char', 'Tax ID'), lang => F('selection', 'Language', selection => [['pt_BR', 'Portuguese (BR)'], ['en_US', 'English (US)']]),
        state_id => F('many2one', 'State', relation => 'res.country.state'),
        country_id => F('many2one', 'Country', relation => 'res.country'),
        parent_id => F('many2one', 'Related Company', relation => 'res.partner'),
        is_company => F('boolean', 'Is a Company'), active => F('boolean', 'Active'),
        function => F('char', 'Job Position'),
        property_product_pricelist => F('many2one', 'Pricelist', relation => 'product.pricelist'),
        sale_order_count => F('integer', 'Sale Order Count'),
        x_skin_type => F('char', 'Tipo de pele'), x_loyalty_points => F('integer', 'Pontos Clube Bella'),
        x_loyalty_tier => F('char', 'Nível Clube Bella'),
        email_normalized => F('char', 'Normalized Email', compute => sub { my $e = $_[0]{email}; defined $e ? lc $e : undef }),
    );
    $partf{phone_mobile_search} = F('char', 'Phone/Mobile', search_only => 1) if $opt->{phone_validation};
    $partf{mobile} = F('char', 'Mobile') if $opt->{version} < 19;
    $model->('res.partner', 'Contact', 'complete_name ASC, id DESC', \%partf, @partners);
    $db{'res.partner'}{order} = 'name, id desc';
    $model->('res.users', 'User', 'name, login', {
        name => F('char', 'Name'), login => F('char', 'Login'), active => F('boolean', 'Active'),
        partner_id => F('many2one', 'Related Partner', relation => 'res.partner'), tz => F('char', 'Timezone'),
        lang => F('char', 'Language') }, @users);

    # sales
    my (@so, @lines);
    my $lid = 0;
    my %dstat = (separando => 'pending', enviado => 'started', atrasado => 'started', entregue => 'full');
    my %pname = map { $_->{id} => $_->{display_name} } @products;
    for my $o (@$orders) {
        my $delivered = ($o->{delivery_status} // '') eq 'entregue';
        my @lids;
        for my $l (@{ $o->{lines} }) {
            my $sub = 0 + sprintf('%.2f', $l->{qty} * $l->{price_unit});
            push @lines, { id => ++$lid, order_id => $o->{id}, product_id => $l->{product_id},
                name => $pname{ $l->{product_id} } // $l->{default_code}, product_uom_qty => $l->{qty},
                price_unit => $l->{price_unit}, discount => 0, price_subtotal => $sub, price_total => $sub,
                qty_delivered => $delivered ? $l->{qty} : 0,
                qty_invoiced => $o->{state} =~ /^(?:sale|done)$/ && $delivered ? $l->{qty} : 0,
                currency_id => 6, state => $o->{state} eq 'done' ? 'sale' : $o->{state}, sequence => 10,
                display_name => "$o->{name} - " . ($pname{ $l->{product_id} } // $l->{default_code}) };
            push @lids, $lid;
        }
        my ($d, $t) = split / /, $o->{date_order};
        push @so, {
            id => $o->{id}, name => $o->{name}, display_name => $o->{name}, partner_id => $o->{partner_id},
            state => $o->{state} eq 'done' ? 'sale' : $o->{state}, locked => $o->{state} eq 'done' ? 1 : 0,
            date_order => utc($d, $t), amount_untaxed => $o->{amount_total}, amount_tax => 0,
            amount_total => $o->{amount_total}, currency_id => 6, pricelist_id => 1,
            invoice_status => $o->{state} =~ /^(?:draft|cancel)$/ ? 'no' : $delivered ? 'invoiced' : 'to invoice',
            delivery_status => $o->{state} eq 'cancel' ? undef : $dstat{ $o->{delivery_status} // '' },
            order_line => \@lids, note => $o->{note}, client_order_ref => undef,
            x_channel => $o->{channel}, x_payment_method => $o->{payment_method},
            x_installments => $o->{installments}, x_delivery_method => $o->{delivery_method},
            x_coupon_code => $o->{coupon_code}, x_discount_coupon => $o->{discount_coupon},
            x_discount_pix => $o->{discount_pix}, x_shipping_cost => $o->{shipping_cost},
            x_amount_products => $o->{amount_products}, x_delivery_status => $o->{delivery_status},
            x_carrier => $o->{carrier}, x_tracking_code => $o->{tracking_code},
            x_shipped_date => $o->{shipped_date}, x_expected_delivery_date => $o->{expected_delivery_date},
            x_delivered_date => $o->{delivered_date}, x_delivery_city => $o->{delivery_city},
        };
    }
    $model->('sale.order', 'Sales Order', 'date_order desc, id desc', {
        name => F('char', 'Order Reference'), partner_id => F('many2one', 'Customer', relation => 'res.partner'),
        state => F('selection', 'Status', selection => [['draft', 'Quotation'], ['sent', 'Quotation Sent'],
                                                       ['sale', 'Sales Order'], ['cancel', 'Cancelled']]),
        locked => F('boolean', 'Locked'), date_order => F('datetime', 'Order Date'),
        amount_untaxed => F('float', 'Untaxed Amount'), amount_tax => F('float', 'Taxes'),
        amount_total => F('float', 'Total'), currency_id => F('many2one', 'Currency', relation => 'res.currency'),
        pricelist_id => F('many2one', 'Pricelist', relation => 'product.pricelist'),
        invoice_status => F('selection', 'Invoice Status', selection => [['upselling', 'Upselling Opportunity'],
            ['invoiced', 'Fully Invoiced'], ['to invoice', 'To Invoice'], ['no', 'Nothing to Invoice']]),
        delivery_status => F('selection', 'Delivery Status', selection => [['pending', 'Not Delivered'],
            ['started', 'Started'], ['partial', 'Partially Delivered'], ['full', 'Fully Delivered']]),
        order_line => F('one2many', 'Order Lines', relation => 'sale.order.line'),
        note => F('text', 'Terms and conditions'), client_order_ref => F('char', 'Customer Reference'),
        commitment_date => F('datetime', 'Delivery Date'),
        x_channel => F('char', 'Canal'), x_payment_method => F('char', 'Forma de pagamento'),
        x_installments => F('integer', 'Parcelas'), x_delivery_method => F('char', 'Entrega'),
        x_coupon_code => F('char', 'Cupom'), x_discount_coupon => F('float', 'Desconto do cupom'),
        x_discount_pix => F('float', 'Desconto Pix'), x_shipping_cost => F('float', 'Frete'),
        x_amount_products => F('float', 'Valor dos produtos'), x_delivery_status => F('char', 'Situação da entrega'),
        x_carrier => F('char', 'Transportadora'), x_tracking_code => F('char', 'Código de rastreio'),
        x_shipped_date => F('date', 'Data de envio'), x_expected_delivery_date => F('date', 'Previsão de entrega'),
        x_delivered_date => F('date', 'Data de entrega'), x_delivery_city => F('char', 'Cidade de entrega'),
    }, @so);
    $model->('sale.order.line', 'Sales Order Line', 'order_id, sequence, id', {
        order_id => F('many2one', 'Order Reference', relation => 'sale.order'),
        product_id => F('many2one', 'Product', relation => 'product.product'),
        name => F('text', 'Description'), product_uom_qty => F('float', 'Quantity'),
        price_unit => F('float', 'Unit Price'), discount => F('float', 'Discount (%)'),
        price_subtotal => F('float', 'Subtotal'), price_total => F('float', 'Total'),
        qty_delivered => F('float', 'Delivery Quantity'), qty_invoiced => F('float', 'Invoiced Quantity'),
        currency_id => F('many2one', 'Currency', relation => 'res.currency'),
        state => F('selection', 'Order Status'), sequence => F('integer', 'Sequence'),
    }, @lines);

    # calendar: the bookings, plus "busy" blocks so that free time = slots.json
    my %cust = map { $_->{id} => $_->{name} } @{ store('customers') };
    my @ev;
    my %apps_by;          # "date|prof" => [[from, to]]
    for my $a (@{ store('appointments') }) {
        my ($n) = $a->{id} =~ /(\d+)$/;
        my $uid = $staff_uid{ $a->{professional} };
        push @ev, { id => $n, name => "$a->{service_name} - " . ($cust{ $a->{customer_id} } // 'Cliente'),
            start => utc($a->{date}, $a->{start}), stop => utc($a->{date}, $a->{end}), allday => 0,
            duration => (_min($a->{end}) - _min($a->{start})) / 60, user_id => $uid,
            partner_ids => [ grep { defined } $a->{customer_id}, $staff_pid{ $a->{professional} } ], location => 'Bela Pele Cosméticos - Vila Mariana',
            description => $a->{note}, show_as => 'busy', active => $a->{status} eq 'cancelado' ? 0 : 1,
            x_service_id => $a->{service_id}, x_appointment_id => $a->{id}, x_status => $a->{status} };
        push @{ $apps_by{"$a->{date}|$a->{professional}"} }, [ _min($a->{start}), _min($a->{end}) ]
            unless $a->{status} eq 'cancelado';
    }
    my $slots = store('slots');
    my $fid = 5000;
    for my $day (@{ $slots->{days} }) {
        next unless $day->{status} eq 'open' || $day->{status} eq 'fully_booked';
        my $h = $services->{opening_hours}{ $day->{weekday} };
        next if !$h || $h->{closed};
        for my $s (@staff) {
            next unless grep { $_ eq $day->{weekday} } @{ $s->{works_on} };
            my @free = map { [ _min($_->{start}), _min($_->{end}) ] }
                       grep { $_->{professional} eq $s->{name} } @{ $day->{slots} };
            push @free, @{ $apps_by{"$day->{date}|$s->{name}"} || [] };
            @free = sort { $a->[0] <=> $b->[0] } @free;
            my $t = _min($h->{open});
            my $close = _min($h->{close});
            my @busy;
            for my $f (@free, [ $close, $close ]) {
                push @busy, [ $t, $f->[0] ] if $f->[0] > $t;
                $t = $f->[1] if $f->[1] > $t;
            }
            for my $b (@busy) {
                push @ev, { id => ++$fid, name => 'Ocupado', start => utc($day->{date}, _hm($b->[0])),
                    stop => utc($day->{date}, _hm($b->[1])), allday => 0, duration => ($b->[1] - $b->[0]) / 60,
                    user_id => $staff_uid{ $s->{name} }, partner_ids => [ $staff_pid{ $s->{name} } ],
                    location => undef, description => undef, show_as => 'busy', active => 1,
                    x_service_id => undef, x_appointment_id => undef, x_status => undef };
            }
        }
    }
    $model->('calendar.event', 'Calendar Event', 'start desc', {
        name => F('char', 'Meeting Subject', required => 1), start => F('datetime', 'Start', required => 1),
        stop => F('datetime', 'Stop', required => 1), allday => F('boolean', 'All Day'),
        duration => F('float', 'Duration'), user_id => F('many2one', 'Organizer', relation => 'res.users'),
        partner_ids => F('many2many', 'Attendees', relation => 'res.partner'), location => F('char', 'Location'),
        description => F('html', 'Description'), videocall_location => F('char', 'Meeting URL'),
        show_as => F('selection', 'Show as', selection => [['free', 'Available'], ['busy', 'Busy']]),
        active => F('boolean', 'Active'), alarm_ids => F('many2many', 'Reminders', relation => 'calendar.alarm'),
        x_service_id => F('char', 'Serviço'), x_appointment_id => F('char', 'Agendamento'),
        x_status => F('char', 'Situação'),
    }, @ev);
    $db{'calendar.event'}{next_id} = 9000;

    $model->('ir.module.module', 'Module', 'sequence, name', {
        name => F('char', 'Technical Name'), shortdesc => F('char', 'Module Name'),
        state => F('selection', 'Status'), sequence => F('integer', 'Sequence') },
        map { { id => $_->[0], name => $_->[1], shortdesc => $_->[2], state => $_->[3], sequence => 1 } }
        ([1, 'base', 'Base', 'installed'], [2, 'product', 'Products & Pricelists', 'installed'],
         [3, 'sale', 'Sales', 'installed'], [4, 'sale_management', 'Sales', 'installed'],
         [5, 'stock', 'Inventory', 'installed'], [6, 'calendar', 'Calendar', 'installed'],
         [7, 'sms', 'SMS gateway', $opt->{phone_validation} ? 'installed' : 'uninstalled'],
         [8, 'phone_validation', 'Phone Numbers Validation', $opt->{phone_validation} ? 'installed' : 'uninstalled'],
         [9, 'appointment', 'Appointments', 'uninstalled'], [10, 'rpc', 'RPC', 'installed']));
    return \%db;
}

# ---------------------------------------------------------------------------
# values

sub display_name {
    my ($db, $model, $id) = @_;
    my $m = $db->{$model} or return undef;
    my $r = $m->{recs}{$id} or return undef;
    return $r->{display_name} // $r->{name} // "$model,$id";
}

sub raw_value {
    my ($db, $m, $r, $f) = @_;
    return $r->{id} if $f eq 'id';
    return display_name($db, $m->{name}, $r->{id}) if $f eq 'display_name';
    my $def = $m->{fields}{$f};
    return $def->{compute}->($r) if $def && $def->{compute};
    my $v = $r->{$f};
    if ($def && $def->{type} =~ /^(?:one2many|many2many)$/) { return $v // [] }
    if ($def && $def->{type} =~ /^(?:float|monetary|integer)$/) { return $v // 0 }
    if ($def && $def->{type} eq 'boolean') { return $v ? 1 : 0 }
    return $v;
}

sub out_value {
    my ($db, $m, $r, $f, $load) = @_;
    my $def = $m->{fields}{$f};
    return $FALSE if $def->{search_only};
    my $v = raw_value($db, $m, $r, $f);
    my $t = $def->{type};
    return $v + 0 if $f eq 'id' || $t eq 'integer';
    return py_float($v) if $t eq 'float' || $t eq 'monetary';
    return $v ? $TRUE : $FALSE if $t eq 'boolean';
    if ($t eq 'many2one') {
        return $FALSE unless defined $v;
        return $v + 0 if !$load;
        return [ $v + 0, display_name($db, $def->{relation}, $v) // '' ];
    }
    return [ map { $_ + 0 } @$v ] if $t eq 'one2many' || $t eq 'many2many';
    return defined $v && $v ne '' ? "$v" : $FALSE;
}

sub py_repr {     # a Python literal, for error messages
    my ($v) = @_;
    return 'None' unless defined $v;
    return $v ? 'True' : 'False' if JSON::PP::is_bool($v);
    return '[' . join(', ', map { py_repr($_) } @$v) . ']' if ref $v eq 'ARRAY';
    return '{' . join(', ', map { "'$_': " . py_repr($v->{$_}) } sort keys %$v) . '}' if ref $v eq 'HASH';
    return $v if _is_num($v);
    (my $s = $v) =~ s/(['\\])/\\$1/g;
    return "'$s'";
}

sub _is_num { my $v = shift; return !ref $v && defined $v && (B::svref_2object(\$v)->FLAGS & (B::SVp_IOK() | B::SVp_NOK())) }

# ---------------------------------------------------------------------------
# domains

my %OPS = map { $_ => 1 } ('=', '!=', '<>', '>', '>=', '<', '<=', 'in', 'not in', 'like', 'not like',
    'ilike', 'not ilike', '=like', '=ilike', 'child_of', 'parent_of', 'any', 'not any');

sub cond_repr {
    my ($leaf) = @_;
    return '(' . join(', ', map { py_repr($_) } @$leaf) . ')';
}

# -> tree; dies with ValueError
sub parse_domain {
    my ($db, $m, $dom) = @_;
    return ['TRUE'] if !defined $dom || (JSON::PP::is_bool($dom) && !$dom);
    exc('builtins.ValueError', "Invalid domain: " . py_repr($dom)) if ref $dom ne 'ARRAY';
    my @items = @$dom;
    my @stack;
    for my $it (reverse @items) {
        if (!ref $it && defined $it && ($it eq '&' || $it eq '|')) {
            exc('builtins.ValueError', "Domain " . py_repr($dom) . " is syntactically not correct.") if @stack < 2;
            my ($x, $y) = (pop @stack, pop @stack);
            push @stack, [$it, $x, $y];
        } elsif (!ref $it && defined $it && $it eq '!') {
            exc('builtins.ValueError', "Domain " . py_repr($dom) . " is syntactically not correct.") unless @stack;
            push @stack, ['!', pop @stack];
        } elsif (ref $it eq 'ARRAY' && @$it == 3) {
            push @stack, parse_leaf($db, $m, $it);
        } else {
            exc('builtins.ValueError', "Invalid leaf " . py_repr($it));
        }
    }
    my $tree = ['TRUE'];
    $tree = ['&', pop(@stack), $tree] while @stack;      # implicit AND
    return $tree;
}

sub parse_leaf {
    my ($db, $m, $leaf) = @_;
    my ($f, $op, $v) = @$leaf;
    if (defined $f && !ref $f && $f =~ /^[01]$/ && $op eq '=' && _is_num($f) && defined $v && $v eq '1') {
        return [$f ? 'TRUE' : 'FALSE'];
    }
    exc('builtins.ValueError', "Invalid leaf " . py_repr($leaf)) if !defined $f || ref $f;
    exc('builtins.ValueError', "Invalid operator " . py_repr($op) . " in condition " . cond_repr($leaf))
        if !defined $op || ref $op || !$OPS{ lc $op };
    # the path must exist
    my $cur = $m;
    my @parts = split /\./, $f;
    for my $i (0 .. $#parts) {
        my $def = $parts[$i] eq 'id' ? { type => 'integer' } : $cur->{fields}{ $parts[$i] };
        exc('builtins.ValueError', "Invalid field $cur->{name}.$parts[$i] in condition " . cond_repr($leaf))
            unless $def;
        if ($i < $#parts) {
            exc('builtins.ValueError', "Invalid field $cur->{name}.$parts[$i] in condition " . cond_repr($leaf))
                unless $def->{relation} && $db->{ $def->{relation} };
            $cur = $db->{ $def->{relation} };
        }
    }
    if (lc $op eq 'any' || lc $op eq 'not any') {
        my $def = $m->{fields}{ $parts[0] };
        exc('builtins.ValueError', "Invalid operator " . py_repr($op) . " in condition " . cond_repr($leaf))
            unless $def->{relation};
        return ['leaf', $f, lc $op, parse_domain($db, $db->{ $def->{relation} }, $v)];
    }
    if ($f eq 'phone_mobile_search' || $f =~ /\.phone_mobile_search$/) {
        my $t = defined $v && !ref $v ? $v : '';
        exc('odoo.exceptions.UserError', 'Please enter at least 3 characters when searching a Phone/Mobile number.')
            if length($t =~ s/\s//gr) < 3;
    }
    return ['leaf', $f, lc $op eq '<>' ? '!=' : lc $op, $v];
}

sub like_re {
    my ($pat, $ci, $anchored) = @_;
    my $re = '';
    my @c = split //, $pat;
    for (my $i = 0; $i < @c; $i++) {
        my $ch = $c[$i];
        if ($ch eq '\\' && $i < $#c) { $re .= quotemeta $c[++$i] }
        elsif ($ch eq '%') { $re .= '.*' }
        elsif ($ch eq '_') { $re .= '.' }
        else { $re .= quotemeta $ch }
    }
    $re = $anchored ? "^$re\$" : $re;
    return $ci ? qr/$re/si : qr/$re/s;
}

sub _strip_phone { my $s = shift // ''; $s =~ s/[\s\\.\/()\-]//g; return $s }

sub phone_match {
    my ($stored, $op, $v) = @_;
    my $term = _strip_phone($v);
    my $hit;
    my @nums = grep { defined && $_ ne '' } map { _strip_phone($_) } @$stored;
    if ($term =~ /^(?:\+|00)(.*)$/) {
        my $d = $1;
        $hit = grep { index($_, "+$d") == 0 || index($_, "00$d") == 0 } @nums;
    } elsif ($op eq '=' || $op eq '!=') {
        $hit = grep { $_ eq $term } @nums;
    } else {
        $hit = grep { index(lc $_, lc $term) >= 0 } @nums;
    }
    return $op =~ /^(?:!=|not )/ ? !$hit : $hit ? 1 : 0;
}

# values of a (dotted) path on a record, and the last field's definition
sub path_values {
    my ($db, $m, $r, $path) = @_;
    my @parts = split /\./, $path;
    my @recs = ([$m, $r]);
    for my $i (0 .. $#parts - 1) {
        my $def = $m->{fields}{ $parts[$i] };
        my $rm = $db->{ $def->{relation} };
        @recs = map {
            my $v = raw_value($db, $_->[0], $_->[1], $parts[$i]);
            map { $rm->{recs}{$_} ? [$rm, $rm->{recs}{$_}] : () } grep { defined } (ref $v ? @$v : ($v));
        } @recs;
        $m = $rm;
    }
    my $f = $parts[-1];
    my $def = $f eq 'id' ? { type => 'integer' } : $m->{fields}{$f};
    return ([ map { raw_value($db, $_->[0], $_->[1], $f) } @recs ], $def, $m, scalar @recs);
}

sub _cmp_val {
    my ($x, $y) = @_;
    return _looks_num($x) && _looks_num($y) ? $x <=> $y : "$x" cmp "$y";
}
sub _looks_num { my $v = shift; return defined $v && !ref $v && $v =~ /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/ }

sub _falsy { my $v = shift; return !defined $v || (JSON::PP::is_bool($v) && !$v) }

sub leaf_ok {
    my ($db, $m, $r, $leaf) = @_;
    my (undef, $f, $op, $v) = @$leaf;
    if ($op eq 'any' || $op eq 'not any') {
        my $def = $m->{fields}{$f};
        my $rm = $db->{ $def->{relation} };
        my $rv = raw_value($db, $m, $r, $f);
        my $hit = grep { $rm->{recs}{$_} && tree_ok($db, $rm, $rm->{recs}{$_}, $v) }
                  grep { defined } (ref $rv ? @$rv : ($rv));
        return $op eq 'any' ? ($hit ? 1 : 0) : ($hit ? 0 : 1);
    }
    my ($vals, $def, $lm, $n) = path_values($db, $m, $r, $f);
    if ($def->{search_only}) {
        # phone_mobile_search compares phone (and mobile) of the partner
        my @phones;
        if ($f =~ /\./) {
            my ($pv) = path_values($db, $m, $r, $f =~ s/phone_mobile_search$/phone/r);
            @phones = @$pv;
        } else {
            @phones = ($r->{phone}, $r->{mobile});
        }
        return phone_match(\@phones, $op, $v);
    }
    my $t = $def->{type} // 'char';
    my @vals = map { ref $_ eq 'ARRAY' ? @$_ : ($_) } @$vals;
    my $rel = $t eq 'many2one' || $t eq 'one2many' || $t eq 'many2many';
    my $names = sub { map { display_name($db, $def->{relation}, $_) // '' } grep { defined } @vals };
    my $neg = $op =~ /^(?:!=|not )/;
    my $hit;
    if ($op eq '=' || $op eq '!=') {
        if (_falsy($v)) {
            $hit = $t eq 'boolean' ? !grep { $_ } @vals : !grep { defined && $_ ne '' } @vals;
        } elsif (JSON::PP::is_bool($v)) {
            $hit = grep { $_ } @vals;
        } elsif ($rel && !_looks_num($v)) {
            $hit = grep { $_ eq $v } $names->();
        } elsif ($t =~ /^(?:integer|float|monetary)$/ || $rel || $f =~ /(?:^|\.)id$/) {
            $hit = _looks_num($v) && grep { defined && _looks_num($_) && $_ == $v } @vals;
        } elsif ($t eq 'boolean') {
            $hit = grep { ($_ ? 1 : 0) == ($v ? 1 : 0) } @vals;
        } else {
            $hit = grep { defined && $_ eq $v } @vals;
        }
        return $op eq '=' ? ($hit ? 1 : 0) : ($hit ? 0 : 1);
    }
    if ($op eq 'in' || $op eq 'not in') {
        my @list = ref $v eq 'ARRAY' ? @$v : ($v);
        $hit = 0;
        for my $x (@list) {
            if (_falsy($x)) { $hit ||= !grep { defined && $_ ne '' } @vals; next }
            $hit ||= grep { defined && (_looks_num($x) && _looks_num($_) ? $_ == $x : $_ eq $x) } @vals;
            $hit ||= grep { $_ eq $x } $names->() if $rel && !_looks_num($x);
        }
        return $op eq 'in' ? ($hit ? 1 : 0) : ($hit ? 0 : 1);
    }
    if ($op =~ /^(?:<|>|<=|>=)$/) {
        for my $x (grep { defined && !JSON::PP::is_bool($_) } @vals) {
            my $c = _cmp_val($x, $v);
            return 1 if $op eq '<' && $c < 0 or $op eq '>' && $c > 0 or $op eq '<=' && $c <= 0
                        or $op eq '>=' && $c >= 0;
        }
        return 0;
    }
    if ($op =~ /like/) {
        my $ci = $op =~ /ilike/;
        my $anch = $op =~ /^=/;
        my @s = $rel ? $names->() : map { "$_" } grep { defined && !JSON::PP::is_bool($_) } @vals;
        if (_falsy($v) || (!ref $v && $v eq '')) {
            $hit = $anch ? grep { $_ eq '' } @s : 1;
        } else {
            my $re = like_re("$v", $ci, $anch);
            $hit = grep { $_ =~ $re } @s;
        }
        return $neg ? ($hit ? 0 : 1) : ($hit ? 1 : 0);
    }
    if ($op eq 'child_of' || $op eq 'parent_of') {
        my @ids = ref $v eq 'ARRAY' ? @$v : ($v);
        my %want;
        my $rm = $rel ? $db->{ $def->{relation} } : $lm;
        for my $id (@ids) {
            my @todo = ($id);
            while (@todo) {
                my $x = shift @todo;
                next if $want{$x}++;
                push @todo, grep { ($rm->{recs}{$_}{parent_id} // -1) == $x } @{ $rm->{ids} } if $op eq 'child_of';
                push @todo, grep { defined } ($rm->{recs}{$x} || {})->{parent_id} if $op eq 'parent_of';
            }
        }
        return (grep { defined && $want{$_} } @vals) ? 1 : 0;
    }
    return 0;
}

sub tree_ok {
    my ($db, $m, $r, $t) = @_;
    my $k = $t->[0];
    return 1 if $k eq 'TRUE';
    return 0 if $k eq 'FALSE';
    return tree_ok($db, $m, $r, $t->[1]) && tree_ok($db, $m, $r, $t->[2]) ? 1 : 0 if $k eq '&';
    return tree_ok($db, $m, $r, $t->[1]) || tree_ok($db, $m, $r, $t->[2]) ? 1 : 0 if $k eq '|';
    return tree_ok($db, $m, $r, $t->[1]) ? 0 : 1 if $k eq '!';
    return leaf_ok($db, $m, $r, $t);
}

sub mentions_active {
    my ($t) = @_;
    return 0 unless ref $t eq 'ARRAY';
    return $t->[1] eq 'active' || $t->[1] =~ /^active\b/ ? 1 : 0 if $t->[0] eq 'leaf';
    return grep { mentions_active($_) } @$t[1 .. $#$t];
}

# ---------------------------------------------------------------------------
# ORM methods

sub _ctx_active_test {
    my ($ctx) = @_;
    return 1 unless ref $ctx eq 'HASH' && exists $ctx->{active_test};
    return $ctx->{active_test} ? 1 : 0;
}

sub do_search {
    my ($db, $m, $kw, $ctx) = @_;
    my $tree = parse_domain($db, $m, $kw->{domain});
    my $active = $m->{fields}{active} && _ctx_active_test($ctx) && !mentions_active($tree);
    my @ids = grep {
        my $r = $m->{recs}{$_};
        (!$active || $r->{active}) && tree_ok($db, $m, $r, $tree);
    } @{ $m->{ids} };
    my $order = $kw->{order};
    $order = $m->{order} if !defined $order || (JSON::PP::is_bool($order) && !$order) || $order eq '';
    my @keys;
    for my $part (split /\s*,\s*/, $order) {
        my ($f, $dir, $extra) = split ' ', $part;
        exc('builtins.ValueError', "Invalid \"order\" specified ($kw->{order}). A valid \"order\" specification "
            . "is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)")
            if !defined $f || defined $extra || ($dir && $dir !~ /^(?:asc|desc)$/i)
               || (!$m->{fields}{$f} && $f ne 'id' && $f ne 'complete_name');
        $f = 'name' if $f eq 'complete_name' && !$m->{fields}{complete_name};
        push @keys, [$f, lc($dir // 'asc') eq 'desc'];
    }
    my %sv;
    for my $id (@ids) {
        my $r = $m->{recs}{$id};
        $sv{$id} = [ map {
            my $def = $m->{fields}{ $_->[0] } || {};
            my $v = raw_value($db, $m, $r, $_->[0]);
            $def->{type} && $def->{type} eq 'many2one' && defined $v ? display_name($db, $def->{relation}, $v) : $v;
        } @keys ];
    }
    @ids = sort {
        my $c = 0;
        for my $i (0 .. $#keys) {
            my ($x, $y) = ($sv{$a}[$i], $sv{$b}[$i]);
            my $desc = $keys[$i][1];
            if (!defined $x || !defined $y) {
                next if !defined $x && !defined $y;
                $c = !defined $x ? ($desc ? -1 : 1) : ($desc ? 1 : -1);    # NULLS LAST asc, FIRST desc
                last;
            }
            $c = _looks_num($x) && _looks_num($y) ? $x <=> $y : lc("$x") cmp lc("$y");
            $c = -$c if $desc;
            last if $c;
        }
        $c || $a <=> $b;
    } @ids;
    my $off = $kw->{offset} // 0;
    splice @ids, 0, $off if $off;
    my $lim = $kw->{limit};
    splice @ids, $lim if defined $lim && !JSON::PP::is_bool($lim) && $lim =~ /^\d+$/ && @ids > $lim;
    return \@ids;
}

sub do_read {
    my ($db, $m, $ids, $fields, $load) = @_;
    my @f;
    if (!defined $fields || (ref $fields eq 'ARRAY' && !@$fields) || JSON::PP::is_bool($fields)) {
        @f = grep { $_ ne 'id' && !$m->{fields}{$_}{search_only} } sort keys %{ $m->{fields} };
    } else {
        exc('builtins.TypeError', "fields must be a list of field names") if ref $fields ne 'ARRAY';
        for my $x (@$fields) {
            exc('builtins.ValueError', "Invalid field " . py_repr($x) . " on model " . py_repr($m->{name}))
                if !defined $x || ref $x || ($x ne 'id' && !$m->{fields}{$x});
        }
        @f = grep { $_ ne 'id' } @$fields;
    }
    my @out;
    for my $id (@$ids) {
        my $r = $m->{recs}{$id} or next;
        push @out, { id => $id + 0, map { ($_ => out_value($db, $m, $r, $_, $load)) } @f };
    }
    return \@out;
}

sub _ids {
    my ($ids) = @_;
    return [] unless defined $ids;
    my @i = ref $ids eq 'ARRAY' ? @$ids : ($ids);
    for (@i) { exc('builtins.TypeError', "ids must be integers, got " . py_repr($_)) unless _looks_num($_) }
    return [ map { $_ + 0 } @i ];
}

# method => [level, [named args], has **kwargs]
my %SIG = (
    search_read   => ['model', [qw(domain fields offset limit order)], 1],
    search        => ['model', [qw(domain offset limit order)], 0],
    search_count  => ['model', [qw(domain limit)], 0],
    search_fetch  => ['model', [qw(domain field_names offset limit order)], 0],
    name_search   => ['model', [qw(name domain operator limit)], 0],
    fields_get    => ['model', [qw(allfields attributes)], 0],
    create        => ['model', [qw(vals_list)], 0],
    default_get   => ['model', [qw(fields_list)], 0],
    read          => ['record', [qw(fields load)], 0],
    write         => ['record', [qw(vals)], 0],
    unlink        => ['record', [], 0],
    name_get      => ['record', [], 0],
    copy          => ['record', [qw(default)], 0],
    get_contextual_price => ['record', [qw(product)], 0],
    context_get   => ['model', [], 0],
    check_access_rights => ['model', [qw(operation raise_exception)], 0],
);
my %MODEL_METHODS = (
    'product.product' => [qw(get_contextual_price)],
    'res.users' => [qw(context_get)],
);

sub method_exists {
    my ($mname, $meth) = @_;
    return 0 unless $SIG{$meth};
    return 1 if grep { $_ eq $meth } @{ $MODEL_METHODS{$mname} || [] };
    return 0 if grep { grep { $_ eq $meth } @$_ } values %MODEL_METHODS;
    return 1;
}

# runs MODEL.METHOD(ids, kwargs) -> result (Perl data); dies with Exc
sub call_method {
    my ($opt, $st, $mname, $meth, $ids, $kw, $ctx) = @_;
    my $db = $st->{db};
    my $m = $db->{$mname};
    my $sig = $SIG{$meth};
    my %allowed = map { $_ => 1 } @{ $sig->[1] };
    for my $k (sort keys %$kw) {
        next if $allowed{$k};
        if ($sig->[2]) {
            exc('builtins.TypeError', "BaseModel.read() got an unexpected keyword argument '$k'")
                unless $k eq 'load';
            next;
        }
        exc('werkzeug.exceptions.UnprocessableEntity', "got an unexpected keyword argument '$k'", kwarg => 1);
    }
    my $desc = $m->{desc};
    if ($meth eq 'search_read') {
        my $found = do_search($db, $m, $kw, $ctx);
        my $load = exists $kw->{load} ? $kw->{load} : '_classic_read';
        return do_read($db, $m, $found, $kw->{fields}, $load);
    }
    if ($meth eq 'search') {
        return [ map { $_ + 0 } @{ do_search($db, $m, $kw, $ctx) } ];
    }
    if ($meth eq 'search_count') {
        my $n = @{ do_search($db, $m, { domain => $kw->{domain} }, $ctx) };
        $n = $kw->{limit} if defined $kw->{limit} && _looks_num($kw->{limit}) && $n > $kw->{limit};
        return $n + 0;
    }
    if ($meth eq 'read') {
        my $load = exists $kw->{load} ? $kw->{load} : '_classic_read';
        return do_read($db, $m, $ids, $kw->{fields}, $load);
    }
    if ($meth eq 'name_search') {
        my $name = $kw->{name} // '';
        my $op = $kw->{operator} // 'ilike';
        my $dom = $name eq '' ? $kw->{domain} || [] : [ ['display_name', $op, $name], @{ $kw->{domain} || [] } ];
        my $found = do_search($db, $m, { domain => $dom, limit => $kw->{limit} // 100 }, $ctx);
        return [ map { [ $_ + 0, display_name($db, $mname, $_) ] } @$found ];
    }
    if ($meth eq 'fields_get') {
        my %want = map { $_ => 1 } @{ ref $kw->{allfields} eq 'ARRAY' ? $kw->{allfields} : [] };
        my @attrs = @{ ref $kw->{attributes} eq 'ARRAY' ? $kw->{attributes} : [] };
        my %out;
        for my $f (sort keys %{ $m->{fields} }) {
            next if %want && !$want{$f};
            my $d = $m->{fields}{$f};
            my %i = (type => $d->{type}, string => $d->{string}, readonly => $f eq 'id' ? $TRUE : $FALSE,
                     required => $d->{required} ? $TRUE : $FALSE, store => $d->{search_only} ? $FALSE : $TRUE,
                     searchable => $TRUE, sortable => $d->{search_only} ? $FALSE : $TRUE);
            $i{relation} = $d->{relation} if $d->{relation};
            $i{selection} = $d->{selection} || [] if $d->{type} eq 'selection';
            %i = map { exists $i{$_} ? ($_ => $i{$_}) : () } @attrs if @attrs;
            $out{$f} = \%i;
        }
        return \%out;
    }
    if ($meth eq 'context_get') {
        return { lang => 'pt_BR', tz => 'America/Sao_Paulo', uid => $opt->{uid} + 0 };
    }
    if ($meth eq 'check_access_rights') {
        return $mname =~ /^(?:calendar\.event)$/ || ($kw->{operation} // 'read') eq 'read' ? $TRUE : $FALSE;
    }
    if ($meth eq 'name_get') {
        return [ map { [ $_ + 0, display_name($db, $mname, $_) ] } grep { $m->{recs}{$_} } @$ids ];
    }
    if ($meth eq 'default_get') {
        return {};
    }
    if ($meth eq 'get_contextual_price') {
        my @live = grep { $m->{recs}{$_} } @$ids;
        exc('builtins.ValueError', "Expected singleton: $mname(" . join(', ', @live) . (@live == 1 ? ',' : '') . ')')
            if @live != 1;
        my $p = $m->{recs}{ $live[0] };
        my $pl = ref $ctx eq 'HASH' ? $ctx->{pricelist} : undef;
        my $price = $p->{lst_price};
        if (defined $pl) {
            exc('odoo.exceptions.MissingError', "Record does not exist or has been deleted.\n(Record: "
                . "product.pricelist($pl,), User: $opt->{uid})") unless $db->{'product.pricelist'}{recs}{$pl};
            $price = $p->{x_promo_price}
                if defined $p->{x_promo_price} && ($p->{x_promo_until} // '') ge $opt->{today};
            $price = $price * 0.9 if $pl == 4 && ($p->{_category} // '') eq 'skincare';
        }
        return py_float($price);
    }
    if ($meth eq 'create') {
        exc('odoo.exceptions.AccessError', "You are not allowed to create '$desc' ($mname) records.\n\n"
            . "Contact your administrator to request access if necessary.") unless $mname eq 'calendar.event';
        my $vl = $kw->{vals_list};
        my $single = ref $vl eq 'HASH';
        my @vals = $single ? ($vl) : ref $vl eq 'ARRAY' ? @$vl : ();
        exc('builtins.TypeError', "create() missing 1 required positional argument: 'vals_list'")
            unless defined $vl;
        exc('builtins.ValueError', 'vals_list must be a list of dicts') if grep { ref $_ ne 'HASH' } @vals;
        my @new;
        for my $v (@vals) {
            my $rec = event_vals($opt, $db, $m, { allday => 0, show_as => 'busy', active => 1 }, $v, 1);
            $rec->{id} = ++$m->{next_id};
            push @new, $rec;
        }
        for my $rec (@new) {
            $m->{recs}{ $rec->{id} } = $rec;
            push @{ $m->{ids} }, $rec->{id};
        }
        return { _created => [ map { $_->{id} } @new ], _single => $single };
    }
    if ($meth eq 'write') {
        exc('odoo.exceptions.AccessError', "You are not allowed to modify '$desc' ($mname) records.\n\n"
            . "Contact your administrator to request access if necessary.") unless $mname eq 'calendar.event';
        my $v = $kw->{vals};
        exc('builtins.TypeError', "write() missing 1 required positional argument: 'vals'") if ref $v ne 'HASH';
        for my $id (@$ids) {
            my $r = $m->{recs}{$id}
                or exc('odoo.exceptions.MissingError', "Record does not exist or has been deleted.\n"
                       . "(Record: $mname($id,), User: $opt->{uid})");
            my %copy = %$r;
            my $upd = event_vals($opt, $db, $m, \%copy, $v, 0);
            %$r = %$upd;
        }
        return $TRUE;
    }
    if ($meth eq 'unlink') {
        if ($mname eq 'sale.order') {
            for my $id (@$ids) {
                my $r = $m->{recs}{$id} or next;
                exc('odoo.exceptions.UserError', 'Você não pode excluir uma cotação enviada ou um pedido de venda '
                    . 'confirmado. Primeiro cancele-o.') if $r->{state} =~ /^(?:sale|sent)$/;
            }
        }
        exc('odoo.exceptions.AccessError', "You are not allowed to delete '$desc' ($mname) records.\n\n"
            . "Contact your administrator to request access if necessary.") unless $mname eq 'calendar.event';
        for my $id (@$ids) {
            next unless delete $m->{recs}{$id};
            $m->{ids} = [ grep { $_ != $id } @{ $m->{ids} } ];
        }
        return $TRUE;
    }
    if ($meth eq 'copy' || $meth eq 'search_fetch') {
        exc('odoo.exceptions.AccessError', "You are not allowed to create '$desc' ($mname) records.")
            if $meth eq 'copy';
        return [];
    }
    exc('werkzeug.exceptions.NotFound', "The method '$mname.$meth' does not exist");
}

sub _dt_ok { my $v = shift; return defined $v && !ref $v && $v =~ /^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?$/ }

sub event_vals {
    my ($opt, $db, $m, $rec, $v, $creating) = @_;
    for my $k (sort keys %$v) {
        my $def = $m->{fields}{$k};
        exc('builtins.ValueError', "Invalid field '$k' in 'calendar.event'") if !$def || $k eq 'id' || $k eq 'display_name';
        my $x = $v->{$k};
        my $t = $def->{type};
        if ($t eq 'datetime') {
            exc('builtins.ValueError', "time data " . py_repr($x) . " does not match format '%Y-%m-%d %H:%M:%S'")
                unless _falsy($x) || _dt_ok($x);
            $x = undef if _falsy($x);
            $x .= ':00' if defined $x && $x =~ /^\S+ \d\d:\d\d$/;
            $x .= ' 00:00:00' if defined $x && $x =~ /^\d{4}-\d\d-\d\d$/;
        } elsif ($t eq 'many2one') {
            $x = undef if _falsy($x);
            if (defined $x) {
                exc('builtins.ValueError', "Wrong value for calendar.event.$k: " . py_repr($x)) unless _looks_num($x);
                exc('odoo.exceptions.ValidationError', "The operation cannot be completed: another model requires "
                    . "the record being deleted. If possible, archive it instead.\n\nModel: $m->{desc} ($m->{name})\n"
                    . "Constraint: calendar_event_${k}_fkey") unless $db->{ $def->{relation} }{recs}{$x};
            }
        } elsif ($t eq 'many2many' || $t eq 'one2many') {
            my @cur = @{ $rec->{$k} || [] };
            exc('builtins.ValueError', "Wrong value for calendar.event.$k: " . py_repr($x)) if ref $x ne 'ARRAY';
            for my $cmd (@$x) {
                if (ref $cmd eq 'ARRAY' && @$cmd >= 1) {
                    my $c = $cmd->[0];
                    if ($c == 6) { @cur = @{ $cmd->[2] || [] } }
                    elsif ($c == 4) { push @cur, $cmd->[1] unless grep { $_ == $cmd->[1] } @cur }
                    elsif ($c == 3) { @cur = grep { $_ != $cmd->[1] } @cur }
                    elsif ($c == 5) { @cur = () }
                    else { exc('builtins.ValueError', "Unsupported command " . py_repr($cmd) . " for $k in the cwai fake") }
                } elsif (_looks_num($cmd)) {
                    exc('builtins.ValueError', "Wrong value for calendar.event.$k: " . py_repr($x));
                } else {
                    exc('builtins.ValueError', "Wrong value for calendar.event.$k: " . py_repr($x));
                }
            }
            for my $id (@cur) {
                exc('odoo.exceptions.ValidationError', "The operation cannot be completed: another model requires "
                    . "the record being deleted. If possible, archive it instead.\n\nModel: Attendee (calendar_event_res_partner_rel)")
                    unless $db->{ $def->{relation} }{recs}{$id};
            }
            $x = [ map { $_ + 0 } @cur ];
        } elsif ($t eq 'boolean') {
            $x = $x ? 1 : 0;
        } elsif ($t eq 'float') {
            exc('builtins.ValueError', "could not convert string to float: " . py_repr($x))
                unless _falsy($x) || _looks_num($x);
            $x = _falsy($x) ? 0 : $x;
        } else {
            $x = _falsy($x) ? undef : "$x";
        }
        $rec->{$k} = $x;
    }
    for my $k (qw(name start stop)) {
        next if defined $rec->{$k} && $rec->{$k} ne '';
        exc('odoo.exceptions.ValidationError', "The operation cannot be completed: - Create/update: a mandatory "
            . "field is not set.\n- Delete: another model requires the record being deleted. If possible, archive "
            . "it instead.\n\nModel: Calendar Event (calendar.event)\nField: $m->{fields}{$k}{string} ($k)");
    }
    if ($rec->{stop} lt $rec->{start}) {
        exc('odoo.exceptions.ValidationError', "The ending date and time cannot be earlier than the starting date "
            . "and time.\nMeeting “$rec->{name}” starts “$rec->{start}” and ends “$rec->{stop}”.");
    }
    my ($t0, $t1) = map { my ($d, $t) = split / /; my ($y, $mo, $dd) = split /-/, $d; my ($h, $mi, $s) = split /:/, $t;
                        require Time::Local; Time::Local::timegm($s, $mi, $h, $dd, $mo - 1, $y) } @$rec{qw(start stop)};
    $rec->{duration} = ($t1 - $t0) / 3600 unless exists $v->{duration};
    $rec->{partner_ids} //= [];
    return $rec;
}

# ---------------------------------------------------------------------------
# transports

sub _ct_json {
    my ($req, @ok) = @_;
    my $ct = lc($req->{headers}{'content-type'} // '');
    $ct =~ s/;.*//;
    $ct =~ s/\s+//g;
    return scalar grep { $ct eq $_ } @ok;
}

sub check_target {
    my ($st, $mname, $meth, $api) = @_;
    my $db = $st->{db};
    if (!$db->{$mname}) {
        exc('werkzeug.exceptions.NotFound', "the model '$mname' does not exist") if $api eq 'json2';
        exc('odoo.exceptions.UserError', "Object $mname doesn't exist");
    }
    if ($meth =~ /^_/) {
        exc('odoo.exceptions.AccessError', "Private methods (such as '$mname.$meth') cannot be called remotely.");
    }
    if (!method_exists($mname, $meth)) {
        exc('werkzeug.exceptions.NotFound', "The method '$mname.$meth' does not exist") if $api eq 'json2';
        exc('builtins.AttributeError', "The method '$meth' does not exist on the model '$mname'");
    }
}

sub dispatch {
    my ($req, $opt, $st) = @_;
    my $m = uc $req->{method};
    my $p = $req->{path};
    my ($mname, $meth) = $p =~ m{^/json/2/([^/]+)/([^/]+)$};
    my $api = defined $mname ? 'json2' : $p eq '/jsonrpc' ? 'jsonrpc' : 'other';
    my @eps = ($api);
    my $rpc_id;
    if ($api eq 'jsonrpc') {
        my ($b) = json_decode($req->{body});
        if (ref $b eq 'HASH' && ref $b->{params} eq 'HASH') {
            $rpc_id = $b->{id};
            my $a = $b->{params}{args};
            if (($b->{params}{service} // '') eq 'object' && ref $a eq 'ARRAY' && defined $a->[3] && defined $a->[4]) {
                unshift @eps, "$a->[3]/$a->[4]";
            } elsif (defined $b->{params}{service}) {
                unshift @eps, "$b->{params}{service}/" . ($b->{params}{method} // '');
            }
        }
    } elsif ($api eq 'json2') {
        unshift @eps, "$mname/$meth";
    }
    my $item = script_step($opt->{script}, $st->{counters}, @eps);
    return apply_script(
        item => $item, req => $req,
        real => sub { $api eq 'json2' ? json2($req, $opt, $st, $mname, $meth)
                    : $api eq 'jsonrpc' ? jsonrpc($req, $opt, $st)
                    : other($req, $opt) },
        named => sub {
            my ($name) = @_;
            my $n = $NAMED{$name} or return undef;
            my $e = Cwai::Fake::Preset::odoo::Exc->new(@$n);
            return $api eq 'jsonrpc' ? rpc_error($opt, $rpc_id, $e) : json2_error($e);
        },
        status => sub {
            my ($s) = @_;
            my $e = Cwai::Fake::Preset::odoo::Exc->new(
                $s == 503 ? 'werkzeug.exceptions.ServiceUnavailable' : $s == 429 ? 'werkzeug.exceptions.TooManyRequests'
                : $s >= 500 ? 'builtins.Exception' : 'werkzeug.exceptions.BadRequest', "HTTP $s (scripted)", status => $s);
            return $api eq 'jsonrpc' && $s == 200 ? rpc_error($opt, $rpc_id, $e) : json2_error($e);
        },
    );
}

sub other {
    my ($req, $opt) = @_;
    if ($req->{path} eq '/web/version') {
        return json_resp(200, { version_info => [ 0 + $opt->{version}, 0, 0, 'final', 0, '' ],
                                version => "$opt->{version}.0" });
    }
    return html(404);
}

sub json2 {
    my ($req, $opt, $st, $mname, $meth) = @_;
    return html(404) if $opt->{version} < 19;
    return html(404) if uc $req->{method} ne 'POST';
    return html(415) unless _ct_json($req, 'application/json');
    my $dbh = $req->{headers}{'x-odoo-database'};
    return html(404) if defined $dbh && $dbh ne $opt->{db};
    my $auth = $req->{headers}{authorization};
    if (!defined $auth || $auth !~ /^bearer\s+(\S+)\s*$/i) {
        return json2_error(Cwai::Fake::Preset::odoo::Exc->new('werkzeug.exceptions.Unauthorized',
            'User not authenticated, use an API Key with a Bearer Authorization header.'));
    }
    if (defined $opt->{key} && $1 ne $opt->{key}) {
        return json2_error(Cwai::Fake::Preset::odoo::Exc->new('werkzeug.exceptions.Unauthorized', 'Invalid apikey'));
    }
    my $res = eval {
        my ($b, $err) = json_decode($req->{body});
        exc('werkzeug.exceptions.BadRequest', "Invalid JSON data: $err") if $err && ($req->{body} // '') =~ /\S/;
        $b = {} if ref $b ne 'HASH';          # a non-object body is ignored (Odoo does the same)
        my %kw = %$b;
        my $ctx = delete $kw{context};
        my $ids = delete $kw{ids};
        check_target($st, $mname, $meth, 'json2');
        my $sig = $SIG{$meth};
        if ($sig->[0] eq 'model' && defined $ids && !(ref $ids eq 'ARRAY' && !@$ids)) {
            exc('werkzeug.exceptions.UnprocessableEntity', "cannot call $mname.$meth with ids");
        }
        my $r = call_method($opt, $st, $mname, $meth, _ids($ids), \%kw, $ctx);
        $r = $r->{_created} if ref $r eq 'HASH' && $r->{_created};
        [$r];
    };
    if (my $e = $@) {
        return json2_error(ref $e ? $e : Cwai::Fake::Preset::odoo::Exc->new('builtins.Exception', "$e"));
    }
    return json_resp(200, $res->[0]);
}

sub jsonrpc {
    my ($req, $opt, $st) = @_;
    return html(405) if uc $req->{method} ne 'POST';
    return html(415) unless _ct_json($req, 'application/json', 'application/json-rpc');
    my ($b, $err) = json_decode($req->{body});
    if ($err || ref $b ne 'HASH') {
        return rpc_error($opt, undef, Cwai::Fake::Preset::odoo::Exc->new('werkzeug.exceptions.BadRequest',
            'Invalid JSON-RPC data'), 400);
    }
    my $id = $b->{id};
    my $res = eval {
        my $p = $b->{params};
        exc('builtins.TypeError', "dispatch_rpc() missing required arguments") if ref $p ne 'HASH';
        my ($svc, $method, $args) = @$p{qw(service method args)};
        $args //= [];
        exc('builtins.TypeError', "args must be a list") if ref $args ne 'ARRAY';
        if (($svc // '') eq 'common') {
            if (($method // '') eq 'version') {
                my ($v) = json_decode(fixture_file('odoo/jsonrpc/version.response.json'));
                return [ $v->{result} ];
            }
            if (($method // '') eq 'login' || ($method // '') eq 'authenticate') {
                my $want = $method eq 'login' ? 3 : 4;
                exc('builtins.TypeError', "exp_$method() takes $want positional arguments but "
                    . scalar(@$args) . " were given") if @$args != $want;
                my ($db, $login, $pw) = @$args;
                exc('psycopg2.OperationalError', "connection to server failed: FATAL:  database \"$db\" does not exist")
                    if ($db // '') ne $opt->{db};
                my $ok = ($login // '') eq $opt->{login} && (!defined $opt->{key} || ($pw // '') eq $opt->{key});
                return [ $ok ? $opt->{uid} + 0 : $FALSE ];
            }
            exc('builtins.Exception', "Method not found: " . ($method // ''));
        }
        if (($svc // '') eq 'db') {
            return [ [ $opt->{db} ] ] if ($method // '') eq 'list';
            exc('odoo.exceptions.AccessDenied', 'Access Denied');
        }
        if (($svc // '') ne 'object') {
            exc('builtins.Exception', "No such service " . ($svc // 'None'));
        }
        my ($kw, @pos);
        my ($db, $uid, $pw, $mname, $meth);
        if (($method // '') eq 'execute_kw') {
            exc('builtins.TypeError', "execute_kw() takes from 6 to 7 positional arguments but "
                . (scalar(@$args) + 1) . " were given") if @$args < 6 || @$args > 7;
            ($db, $uid, $pw, $mname, $meth) = @$args[0 .. 4];
            my $pa = $args->[5];
            $kw = $args->[6] // {};
            exc('builtins.TypeError', "execute_kw() args must be a list") if ref $pa ne 'ARRAY';
            exc('builtins.TypeError', "execute_kw() kwargs must be a dict") if ref $kw ne 'HASH';
            @pos = @$pa;
        } elsif (($method // '') eq 'execute') {
            ($db, $uid, $pw, $mname, $meth, @pos) = @$args;
            $kw = {};
        } else {
            exc('builtins.Exception', "Method not available " . ($method // 'None'));
        }
        exc('psycopg2.OperationalError', "connection to server failed: FATAL:  database \"" . ($db // '')
            . "\" does not exist") if ($db // '') ne $opt->{db};
        if (!_looks_num($uid) || $uid != $opt->{uid} || (defined $opt->{key} && ($pw // '') ne $opt->{key})) {
            exc('odoo.exceptions.AccessDenied', 'Access Denied');
        }
        exc('builtins.TypeError', 'model and method must be strings') if ref $mname || ref $meth
            || !defined $mname || !defined $meth;
        check_target($st, $mname, $meth, 'jsonrpc');
        my $sig = $SIG{$meth};
        my %kw = %$kw;
        my $ctx = delete $kw{context};
        my $ids;
        if ($sig->[0] eq 'record') {
            exc('builtins.TypeError', "$meth() missing 1 required positional argument: 'ids'") unless @pos;
            $ids = shift @pos;
        }
        my @names = @{ $sig->[1] };
        exc('builtins.TypeError', "$meth() takes from 1 to " . (@names + 1) . " positional arguments but "
            . (@pos + 1) . " were given") if @pos > @names;
        for my $i (0 .. $#pos) {
            exc('builtins.TypeError', "$meth() got multiple values for argument '$names[$i]'")
                if exists $kw{ $names[$i] };
            $kw{ $names[$i] } = $pos[$i];
        }
        my $r = eval { call_method($opt, $st, $mname, $meth, _ids($ids), \%kw, $ctx) };
        if (my $e = $@) {
            if (ref $e && $e->{kwarg}) {
                my ($k) = $e->{message} =~ /'([^']+)'/;
                exc('builtins.TypeError', "BaseModel.$meth() got an unexpected keyword argument '$k'");
            }
            die $e;
        }
        if (ref $r eq 'HASH' && $r->{_created}) {
            $r = $r->{_single} ? $r->{_created}[0] + 0 : [ map { $_ + 0 } @{ $r->{_created} } ];
        }
        [$r];
    };
    if (my $e = $@) {
        return rpc_error($opt, $id, ref $e ? $e : Cwai::Fake::Preset::odoo::Exc->new('builtins.Exception', "$e"));
    }
    return json_resp(200, { jsonrpc => '2.0', id => $id, result => $res->[0] });
}

1;
