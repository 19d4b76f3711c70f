#!/bin/sh
# The TLS-terminating reverse proxy of deploy/compose.yaml: nginx from Debian's packages (the
# official nginx image's too), its configuration made from deploy/nginx.conf with the ports
# the compose file was given.
set -eu
mkdir -p /run/proxy/body /run/proxy/proxy
sed -e "s/@HTTPS_PORT@/${PARLOUR_HTTPS_PORT:-443}/g" \
    -e "s/@HTTPS_ADDRESS@/${PARLOUR_HTTPS_ADDRESS:-0.0.0.0}/g" \
    -e "s/@PORT_A@/${PARLOUR_A_PORT:-18101}/g" \
    -e "s/@PORT_B@/${PARLOUR_B_PORT:-18102}/g" \
    /deploy/nginx.conf > /run/proxy/nginx.conf
exec nginx -c /run/proxy/nginx.conf -g 'daemon off;'
