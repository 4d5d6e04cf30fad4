#!/usr/bin/env node
// `hatchet-local` for the published package: runs the compiled CLI (`pnpm build` produces dist/).
// In this repository, `pnpm hatchet-local` runs the TypeScript source directly.
import "../dist/esm/bin/hatchet-local.js"
