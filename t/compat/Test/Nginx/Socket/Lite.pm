package Test::Nginx::Socket::Lite;

# Alias of Test::Nginx::Socket in the project's compat runner.  Note that
# upstream Test::Nginx has no ::Lite module: .t files that must also run
# under the real framework should "use Test::Nginx::Socket".

use strict;
use warnings;

use Test::Nginx::Socket -base;

our $VERSION = '0.33-cwai';

1;
