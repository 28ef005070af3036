# syntax=docker/dockerfile:1
# Build: compile TypeScript and generate the Prisma client (no engine download is needed).
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/prisma-generate.mjs
COPY prisma prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: production dependencies only, compiled code, migrations, seed data and locales.
FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped: the postinstall would run `prisma generate`, whose output is copied instead.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/locales ./locales
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The heap flags of `npm run start:prod` (bench/ measures with them): V8 otherwise lets the heap grow
# toward its default limit under load, past 400 MB where 250 MB does.
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=256", "dist/app/main.js"]
