/**
 * The one template renderer: `{{name}}` placeholders in real files under `templates/`, filled strictly.
 *
 * Strict both ways, so a template and its render function cannot drift apart unnoticed: a placeholder
 * without a value is an error, and so is a value no placeholder uses. There is no logic in templates
 * (no conditionals, no loops); a file that needs variants gets them from its typed render function.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directory holding the template files (this file's directory). */
export const TEMPLATES_DIR = path.dirname(fileURLToPath(import.meta.url));

/** A value a placeholder may take: text, or a number written in decimal. */
export type TemplateValue = string | number;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** Thrown when a template and the values given for it do not match. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/**
 * Fill every `{{name}}` in `text` from `values`. Throws a `TemplateError` naming the template when a
 * placeholder has no value, a value is unused, or a number is not finite.
 */
export function fillPlaceholders(text: string, values: Readonly<Record<string, TemplateValue>>, templateName: string): string {
  const used = new Set<string>();
  const missing = new Set<string>();
  const out = text.replace(PLACEHOLDER, (_match, name: string) => {
    if (!Object.hasOwn(values, name)) {
      missing.add(name);
      return '';
    }
    used.add(name);
    const value = values[name]!;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TemplateError(`${templateName}: {{${name}}} must be a finite number, got ${value}`);
    }
    return String(value);
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  const problems: string[] = [];
  if (missing.size > 0) problems.push(`no value for ${[...missing].map((n) => `{{${n}}}`).join(', ')}`);
  if (unused.length > 0) problems.push(`values not used by the template: ${unused.join(', ')}`);
  if (problems.length > 0) throw new TemplateError(`${templateName}: ${problems.join('; ')}`);
  return out;
}

/** How a file format writes a line comment, for the "rendered from" header. */
export type CommentStyle = '#' | '//' | 'html' | 'none';

/** The header every rendered file starts with (projen style): where it comes from, not to edit it. */
export function renderedHeader(source: string, style: CommentStyle): string {
  const text = `Rendered from templates/${source} by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.`;
  switch (style) {
    case '#':
      return `# ${text}\n`;
    case '//':
      return `// ${text}\n`;
    case 'html':
      return `<!-- ${text} -->\n`;
    case 'none':
      return '';
  }
}

/**
 * Read `templates/<name>`, fill its placeholders strictly and put the "rendered from" header first
 * (after a `#!` line, if any).
 * @param name path below templates/, e.g. `nginx/nginx.conf`
 */
export function renderTemplate(name: string, values: Readonly<Record<string, TemplateValue>>, comment: CommentStyle): string {
  const filled = fillPlaceholders(readFileSync(path.join(TEMPLATES_DIR, name), 'utf8'), values, `templates/${name}`);
  // A script's #! line must stay first; the header goes right after it.
  const shebang = filled.startsWith('#!') ? filled.slice(0, filled.indexOf('\n') + 1) : '';
  return shebang + renderedHeader(name, comment) + filled.slice(shebang.length);
}
