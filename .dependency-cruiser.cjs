// The arrows that must never be (DESIGN.md, "Dependencies point one way"), checked on the sources by
// dependency-cruiser in CI: `pnpm deps`. Paths are relative to the repository root.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-depends-on-nothing-of-ours",
      comment: "@latentflow/core is the root: it may not import a plugin, the queue, the CLI or tooling",
      severity: "error",
      from: { path: "^packages/core/" },
      to: { path: "^(packages/(?!core/)[^/]+/|apps/|tooling/(?!tsconfig/))" },
    },
    {
      name: "nothing-depends-on-apps",
      comment: "apps/ (the CLI, the explorer) sit on top; no package imports them",
      severity: "error",
      from: { path: "^(packages|tooling)/" },
      to: { path: "^apps/" },
    },
    {
      name: "encoders-are-independent",
      comment: "an encoder package never imports another encoder package",
      severity: "error",
      from: { path: "^packages/(encoders-[^/]+)/" },
      to: { path: "^packages/encoders-", pathNot: "^packages/$1/" },
    },
    {
      name: "multimodal-and-generators-use-encoders-through-core",
      comment: "aligners and generators reach encoders only through core's contracts",
      severity: "error",
      from: { path: "^packages/(multimodal|generators)/src/", pathNot: "\\.test\\.ts$" },
      to: { path: "^packages/encoders-" },
    },
    {
      name: "no-package-cycles",
      comment: "two packages that import each other (directly or round a loop) are one package",
      severity: "error",
      from: { path: "^packages/([^/]+)/" },
      to: { path: "^packages/", pathNot: "^packages/$1/", circular: true },
    },
  ],
  options: {
    // Workspace packages resolve to their built dist/ (through node_modules links): kept as leaves, so an
    // import of @latentflow/x is an arrow to packages/x/, but their insides are not cruised twice.
    doNotFollow: { path: "node_modules|(^|/)dist/" },
    exclude: { path: "(^|/)(wasm|fixtures)/|\\.d\\.ts$" },
    tsPreCompilationDeps: true,
    preserveSymlinks: false,
    // Subpath exports (@latentflow/core/io) resolve through package.json "exports".
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "default"] },
  },
};
