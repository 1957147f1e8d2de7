import fs from "node:fs";
import path from "node:path";

/** The dashboard's structure rules, read from the sources (src/client is generated and left
 * out): no import cycle anywhere (lazy `import()` included: a page loaded lazily that imports
 * its loader back is still a loop); nothing outside src/routes and the router imports a route
 * (routes are the top: components, hooks and queries sit under them); query keys are defined
 * in src/queries only. */
const SRC = path.resolve(import.meta.dirname);
const EXTENSIONS = [".ts", ".tsx"];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "client" && dir === SRC ? [] : sourceFiles(full);
    return EXTENSIONS.includes(path.extname(entry.name)) && !/\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

// Static imports and re-exports (`import x from "…"`, `export { x } from "…"`, `import "…"`)
// and dynamic ones (`import("…")`).
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((match) => (match[1] ?? match[2] ?? match[3])!);
}

function resolve(from: string, specifier: string): string | null {
  let base: string;
  if (specifier.startsWith("@/")) base = path.join(SRC, specifier.slice(2));
  else if (specifier.startsWith(".")) base = path.resolve(path.dirname(from), specifier);
  else return null; // a package
  for (const candidate of [base, ...EXTENSIONS.map((ext) => base + ext), ...EXTENSIONS.map((ext) => path.join(base, "index" + ext))]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

type Graph = Map<string, string[]>;

function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const targets = importsOf(fs.readFileSync(file, "utf8"))
      .map((specifier) => resolve(file, specifier))
      .filter((target): target is string => target !== null && !target.startsWith(path.join(SRC, "client")));
    graph.set(file, targets);
  }
  return graph;
}

/** One cycle per strongly connected group, as a path of files (depth-first search). */
export function findCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const relative = (file: string) => path.relative(SRC, file);

describe("the import rules", () => {
  const graph = importGraph();

  it("reads the imports of every kind", () => {
    expect(
      importsOf(
        'import { a } from "@/x";\nimport type { B } from "./y";\nexport { c } from "../z";\nimport "./side.css";\nconst P = lazy(() => import("@/routes/job"));\nimport {\n  d,\n} from "@/w";',
      ),
    ).toEqual(["@/x", "./y", "../z", "./side.css", "@/routes/job", "@/w"]);
  });

  it("finds a cycle when there is one", () => {
    const loop: Graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(findCycles(loop)).toEqual([["a", "b", "c", "a"]]);
  });

  it("sees the whole dashboard", () => {
    // A sanity check of the walk itself: the layout imports the navigation registry.
    const layout = path.join(SRC, "routes/layout.tsx");
    expect(graph.get(layout)).toContain(path.join(SRC, "routes/registry.tsx"));
    expect(graph.size).toBeGreaterThan(50);
  });

  it("has no import cycle", () => {
    expect(findCycles(graph).map((cycle) => cycle.map(relative).join(" → "))).toEqual([]);
  });

  it("imports routes only from routes and the router", () => {
    const routes = path.join(SRC, "routes") + path.sep;
    const offending = [...graph.entries()]
      .filter(([file]) => !file.startsWith(routes) && relative(file) !== "router.tsx")
      .flatMap(([file, targets]) => targets.filter((t) => t.startsWith(routes)).map((t) => `${relative(file)} → ${relative(t)}`));
    expect(offending).toEqual([]);
  });

  it("defines query keys only in src/queries, once per resource", () => {
    // A key spelt out elsewhere (the job detail key once lived in a hook too) drifts from the
    // one that mutations invalidate.
    const queries = path.join(SRC, "queries") + path.sep;
    const literal = /queryKey:\s*\[|\[\s*"(?:jobs|projects|audits|users|dashboard|gsc|ads|links|serp)"\s*,/;
    const offending = [...graph.keys()]
      .filter((file) => !file.startsWith(queries) && literal.test(fs.readFileSync(file, "utf8")))
      .map(relative);
    expect(offending).toEqual([]);
  });
});
