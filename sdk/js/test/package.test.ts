/**
 * The package as published: what `npm pack` puts in the tarball, no install scripts, types
 * shipped, no runtime dependencies, and nothing in the shipped code that could keep a token
 * anywhere but memory (T-107).
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url); // sdk/js/
const manifest = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as {
  types?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
};

test("npm pack makes a tarball of the built JavaScript, its .d.ts, the README and package.json only", () => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const into = mkdtempSync(join(tmpdir(), "parlour-sdk-pack-"));
  try {
    const packed = JSON.parse(
      execFileSync(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", into], { cwd: ROOT, encoding: "utf8" }),
    ) as { filename: string }[];
    const tarball = join(into, packed[0]?.filename ?? "");
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, ""))
      .sort();
    const modules = ["backoff", "client", "frames", "index"];
    assert.deepEqual(
      files,
      ["README.md", ...modules.flatMap((m) => [`dist/${m}.d.ts`, `dist/${m}.js`]), "package.json"].sort(),
    );
  } finally {
    rmSync(into, { recursive: true, force: true });
  }
});

test("the package has no install scripts, no runtime dependencies, and names its types", () => {
  const hooks = Object.keys(manifest.scripts ?? {}).filter((name) =>
    ["preinstall", "install", "postinstall", "prepare", "prepack", "postpack"].includes(name),
  );
  assert.deepEqual(hooks, []);
  assert.deepEqual(manifest.dependencies ?? {}, {});
  assert.equal(manifest.types, "./dist/index.d.ts");
});

test("T-107: the shipped code names no browser or React Native storage, nor cookies", () => {
  const dist = new URL("dist/", ROOT);
  const found: string[] = [];
  for (const name of readdirSync(dist)) {
    const text = readFileSync(new URL(name, dist), "utf8");
    for (const word of ["localStorage", "sessionStorage", "AsyncStorage", "async-storage", "indexedDB", "document.cookie", "SecureStore", "Keychain"]) {
      if (text.includes(word)) found.push(`${name}: ${word}`);
    }
  }
  assert.deepEqual(found, []);
});
