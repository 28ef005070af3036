// Which way dependencies may point: channels (bot/, ussd/) → core/; app/ → channels and core/.
// The core knows no framework and no entry point, so it can be driven by any channel and by
// tests alone; app/ is the one composition root (app/core.ts). test/ may import anything.
// Run by `npm run lint` (the depcruise CLI) and by test/dependencies.test.ts (the cruise() API).

const FRAMEWORKS = "(grammy|@grammyjs/[^/]+|fastify|@fastify/[^/]+|fastify-[^/]+|africastalking)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: the modules cannot be understood, tested or loaded one without the other.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-not-upward",
      severity: "error",
      comment: "core/ is below every channel and entry point: it imports none of them.",
      from: { path: "^core/" },
      to: { path: "^(bot|ussd|app|scripts|bench|test)/" },
    },
    {
      name: "core-no-frameworks",
      severity: "error",
      comment: "core/ is framework-free: grammY, Fastify and Africa's Talking belong to the channels and app/.",
      from: { path: "^core/" },
      to: { path: `(^|/)node_modules/${FRAMEWORKS}/` },
    },
    {
      name: "channels-not-app",
      severity: "error",
      comment: "bot/ and ussd/ declare the options they need; app/ builds the core and passes it in.",
      from: { path: "^(bot|ussd)/" },
      to: { path: "^app/" },
    },
    {
      name: "bot-not-ussd",
      severity: "error",
      comment: "The channels share only the core.",
      from: { path: "^bot/" },
      to: { path: "^ussd/" },
    },
    {
      name: "ussd-not-bot",
      severity: "error",
      comment: "The channels share only the core.",
      from: { path: "^ussd/" },
      to: { path: "^bot/" },
    },
    {
      name: "domain-is-a-leaf",
      severity: "error",
      comment: "core/domain/ is the vocabulary everything else uses; it uses nothing else of the core.",
      from: { path: "^core/domain/" },
      to: { path: "^core/", pathNot: "^core/domain/" },
    },
    {
      name: "engine-not-flows",
      severity: "error",
      comment: "The flows are written against the engine; which flows run is decided in app/core.ts.",
      from: { path: "^core/engine/" },
      to: { path: "^core/flows/" },
    },
    {
      name: "app-not-tools",
      severity: "error",
      comment: "The product does not depend on its commands or its benchmark.",
      from: { path: "^(app|bot|ussd|core)/" },
      to: { path: "^(scripts|bench)/" },
    },
    {
      name: "only-tests-import-tests",
      severity: "error",
      comment: "Test doubles and helpers stay out of the product.",
      from: { pathNot: "^test/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    // Listed (so the framework rule sees them) but not cruised into.
    doNotFollow: { path: "(^|/)(node_modules|generated)/" },
    exclude: { path: "(^|/)(dist|data)/" },
    // Type-only imports count: `import type { AppConfig } from "../app/config.js"` is still a
    // dependency on app/.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".mts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};
