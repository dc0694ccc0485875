// Trunk post-build hook: moves the inline <script type="module"> loader Trunk writes into
// index.html out to its own file, so the Content-Security-Policy can forbid inline scripts
// (script-src 'self'). Runs in Trunk's staging directory (TRUNK_STAGING_DIR).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("csp-hook: TRUNK_STAGING_DIR is not set (run through trunk)");
  process.exit(1);
}
const publicUrl = process.env.TRUNK_PUBLIC_URL || "/";
const htmlPath = join(dir, "index.html");
let html = readFileSync(htmlPath, "utf8");
const inline = /<script type="module"(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g;
let moved = 0;
html = html.replace(inline, (_, body) => {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 16);
  const name = `loader-${hash}.js`;
  writeFileSync(join(dir, name), body);
  moved += 1;
  return `<script type="module" src="${publicUrl}${name}"></script>`;
});
if (/<script(?![^>]*\bsrc=)[^>]*>[^<]+<\/script>/.test(html)) {
  console.error("csp-hook: an inline script is left in index.html; the CSP would block it");
  process.exit(1);
}
writeFileSync(htmlPath, html);
console.log(`csp-hook: moved ${moved} inline loader script(s) into files`);
