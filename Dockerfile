# njs-session on the official nginx image (Debian-based; it ships the njs modules): dist/session.js,
# dist/session-api.js (for njs modules of your own), dist/store-bridge.js, the nginx/ snippets and a ready example site (docker/nginx.conf) protecting
# /app/, configured by NJS_SESSION_* environment variables (README "Docker", docs/docker.md).
#
#   npm ci && npm run build                       # dist/ is built, not kept in git
#   docker build -t njs-session .
#   docker run -p 8080:80 -e NJS_SESSION_SECRET="$(openssl rand -base64 32)" njs-session
#
# The last step runs docker/self-check.sh: nginx -t, then nginx itself and a login flow against the
# example, on the base this image is built from. A base whose nginx or njs cannot run the example fails
# the build there instead of failing in production.
#
# nginx:1.30.0 (stable, Debian trixie) ships njs 0.9.6 (nginx.org's Dockerfile, April 2026); the
# example uses auth_request so that it runs on njs older than 0.9.9. `npm test` builds this file from
# Debian testing's nginx 1.30 + njs 1.0 instead (build/docker-test.sh), as no registry is reachable
# there: Debian's packages use the same paths (/usr/sbin/nginx, /etc/nginx, /usr/lib/nginx/modules).
ARG BASE_IMAGE=nginx:1.30.0
FROM ${BASE_IMAGE}

# Where the base keeps ngx_http_js_module.so and ngx_stream_js_module.so.
ARG NJS_MODULES_DIR=/usr/lib/nginx/modules

COPY dist/session.js dist/session-api.js dist/store-bridge.js /etc/nginx/njs/
COPY nginx/njs-session.conf nginx/session-upstream.conf nginx/session-auth-request.conf \
     nginx/session-check-server.conf nginx/session-check-proxy.conf \
     nginx/store-bridge.conf nginx/store-bridge-front.conf nginx/store-bridge-relay.conf \
     nginx/demo/demo-app.js docker/demo-app.conf /etc/nginx/njs-session/
COPY docker/nginx.conf /etc/nginx/nginx.conf
COPY docker/njs-session-entrypoint.sh /usr/local/bin/njs-session-entrypoint
COPY docker/self-check.sh /usr/local/lib/njs-session/self-check.sh

# nginx.org builds the stream module in, Debian's packages load it as a dynamic module: load it only
# where it is one. The official default site would take port 80 from the example: removed.
RUN set -eu; \
    for module in ngx_http_js_module.so ngx_stream_js_module.so; do \
        test -f "$NJS_MODULES_DIR/$module" || { echo "no $NJS_MODULES_DIR/$module in this base (--build-arg NJS_MODULES_DIR=...)" >&2; exit 1; }; \
    done; \
    { echo "load_module $NJS_MODULES_DIR/ngx_http_js_module.so;"; \
      if nginx -V 2>&1 | grep -q -- '--with-stream=dynamic'; then echo "load_module $NJS_MODULES_DIR/ngx_stream_module.so;"; fi; \
      echo "load_module $NJS_MODULES_DIR/ngx_stream_js_module.so;"; \
    } > /etc/nginx/njs-session/modules.conf; \
    rm -f /etc/nginx/conf.d/default.conf; \
    mkdir -p /etc/nginx/conf.d; \
    chmod 0755 /usr/local/bin/njs-session-entrypoint /usr/local/lib/njs-session/self-check.sh; \
    /usr/local/lib/njs-session/self-check.sh

ENTRYPOINT ["/usr/local/bin/njs-session-entrypoint"]
CMD ["nginx", "-g", "daemon off;"]
EXPOSE 80
STOPSIGNAL SIGQUIT
