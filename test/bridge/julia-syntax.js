// Julia cannot be installed on our machines: its code is checked for syntax with tree-sitter's
// Julia grammar (devDependencies tree-sitter + tree-sitter-julia, which ship linux-x64 prebuilds).
// The grammar is more lenient than Julia's parser in places (a stray `end` after a complete
// statement parses), so this catches unbalanced brackets, blocks and strings, not every error.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let parser = null;
let missing = null;
try {
  const Parser = require('tree-sitter');
  parser = new Parser();
  parser.setLanguage(require('tree-sitter-julia'));
} catch (e) {
  missing = `tree-sitter or tree-sitter-julia is not installed (npm ci installs the devDependencies): ${e.message}`;
}

/** Why the check cannot run here, or null. Under CI=true a missing parser is a failure, not a skip. */
export function juliaParserMissing() {
  if (missing && process.env.CI === 'true') throw new Error(missing);
  return missing;
}

/** The syntax errors of `text` as "line:col: kind" strings (1-based); [] when it parses. */
export function juliaSyntaxErrors(text) {
  const tree = parser.parse(text);
  if (!tree.rootNode.hasError) return [];
  const out = [];
  const walk = (n) => {
    if (n.type === 'ERROR' || n.isMissing) out.push(`${n.startPosition.row + 1}:${n.startPosition.column + 1}: ${n.isMissing ? `missing ${n.type}` : 'cannot parse'}`);
    else for (const c of n.children) if (c.hasError) walk(c);
  };
  walk(tree.rootNode);
  return out.length ? out : ['somewhere: the tree has an error'];
}

/** The parsed tree (for tests that read the reader's own structure). */
export function juliaTree(text) {
  return parser.parse(text);
}
