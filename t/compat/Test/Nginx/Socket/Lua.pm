package Test::Nginx::Socket::Lua;

# Alias of Test::Nginx::Socket in the project's compat runner (the upstream
# module only adds TEST_NGINX_INIT_BY_LUA handling, irrelevant here).

use strict;
use warnings;

use Test::Nginx::Socket -base;

our $VERSION = '0.33-cwai';

1;
