/**
 * The engine's domain modules import each other one way: no module reaches, through the modules
 * it imports, back to itself. Type-only imports do not count (they vanish at run time); a module
 * lower in the graph that needs something done above it returns a decision instead.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"

const domain = join(import.meta.dirname, "../src/internal/domain")

/** The domain modules a module imports at run time (`import type` and `{ type X }`-only imports left out). */
const runtimeImports = (source: string): Array<string> => {
  const found: Array<string> = []
  const pattern = /^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+"\.\/([\w-]+)\.js"/gm
  for (const match of source.matchAll(pattern)) {
    if (match[1] !== undefined) continue
    const specifiers = match[2]!.trim()
    const named = /^\{([\s\S]*)\}$/.exec(specifiers)
    if (named !== null && named[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "").every((s) => s.startsWith("type "))) {
      continue
    }
    found.push(match[3]!)
  }
  return found
}

const graph = (): Map<string, Array<string>> => {
  const modules = new Map<string, Array<string>>()
  for (const file of readdirSync(domain)) {
    if (!file.endsWith(".ts")) continue
    modules.set(file.slice(0, -3), runtimeImports(readFileSync(join(domain, file), "utf8")))
  }
  return modules
}

/** Every cycle's path, found by a depth-first walk. */
const cycles = (modules: Map<string, Array<string>>): Array<Array<string>> => {
  const found: Array<Array<string>> = []
  const state = new Map<string, "visiting" | "done">()
  const path: Array<string> = []
  const visit = (name: string) => {
    if (state.get(name) === "done") return
    if (state.get(name) === "visiting") {
      found.push([...path.slice(path.indexOf(name)), name])
      return
    }
    state.set(name, "visiting")
    path.push(name)
    for (const next of modules.get(name) ?? []) visit(next)
    path.pop()
    state.set(name, "done")
  }
  for (const name of modules.keys()) visit(name)
  return found
}

describe("domain imports", () => {
  it("the checker sees a cycle and ignores type-only imports", () => {
    expect(runtimeImports(`import { a } from "./x.js"\nimport type { B } from "./y.js"\nimport { type C } from "./z.js"`))
      .toEqual(["x"])
    expect(cycles(new Map([["a", ["b"]], ["b", ["a"]]]))).toEqual([["a", "b", "a"]])
  })

  it("form a one-way graph", () => {
    const modules = graph()
    expect(modules.size).toBeGreaterThan(20)
    expect(cycles(modules)).toEqual([])
  })
})

const src = join(import.meta.dirname, "../src")

/** What a module imports at run time, statically (`import(...)` loads later, when asked): its specifiers. */
const staticImports = (source: string): Array<string> => {
  const found: Array<string> = []
  const pattern = /^(?:import|export)\s+(?:(type\s+)?([^;]*?)\s+from\s+)?"([^"]+)"/gm
  for (const match of source.matchAll(pattern)) {
    if (match[1] !== undefined) continue
    const named = /^\{([\s\S]*)\}$/.exec(match[2]?.trim() ?? "")
    if (named !== null && named[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "").every((s) => s.startsWith("type "))) {
      continue
    }
    found.push(match[3]!)
  }
  return found
}

/** The engine's modules (paths under src/) and packages a start from `entries` loads. */
const loadedAtStart = (entries: ReadonlyArray<string>) => {
  const modules = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (modules.has(file)) return
    modules.add(file)
    for (const specifier of staticImports(readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) visit(join(dirname(file), specifier.replace(/\.js$/, ".ts")))
      else packages.add(specifier)
    }
  }
  for (const entry of entries) visit(join(src, entry))
  return { modules: [...modules].map((file) => relative(src, file)), packages: [...packages] }
}

describe("what the engine loads at start", () => {
  it("not the REST router, Effect's Node HTTP server, the Node platform nor effect's index: each full GC marks what is loaded", () => {
    const { modules, packages } = loadedAtStart(["index.ts", "bin/hatchet-local.ts"])
    expect(modules).toContain("internal/http/server.ts")
    expect(modules).toContain("internal/http/plainRoutes.ts")
    expect(modules).not.toContain("internal/http/router.ts")
    expect(modules).not.toContain("internal/http/routes/index.ts")
    expect(packages).toContain("effect/Effect")
    expect(packages).not.toContain("effect")
    expect(packages.filter((name) => name.startsWith("@effect/platform-node/")).sort()).toEqual([
      "@effect/platform-node/NodeFileSystem",
      "@effect/platform-node/NodePath",
      "@effect/platform-node/NodeRuntime"
    ])
    // the checker sees what the router brings, once asked
    expect(loadedAtStart(["internal/http/router.ts"]).packages).toContain("@effect/platform-node/NodeHttpServer")
  })
})
