/**
 * What differs between two `cloudinit_config` documents, in a reviewer's words: which files written by
 * cloud-init (`write_files` paths) and which other cloud-config keys changed. Why a droplet is replaced is
 * then visible in the change report ("file /etc/app/app.env changed"), not only "user_data".
 */
import { isDeepStrictEqual as deepEqual } from 'node:util';
import { parse } from 'yaml';

type Body = Record<string, unknown>;

const partName = (part: Body, i: number) => String(part.filename ?? `#${i + 1}`);

function rawContent(body: Body, name: string): string | undefined {
  const parts = Array.isArray(body.part) ? (body.part as Body[]) : [];
  const i = parts.findIndex((part, index) => partName(part, index) === name);
  return i < 0 ? undefined : String(parts[i]!.content ?? '');
}

/** The cloud-config documents of a `cloudinit_config` body, by part (filename or position). */
function cloudConfigs(body: Body): Map<string, Body | string> {
  const parts = Array.isArray(body.part) ? (body.part as Body[]) : [];
  return new Map(parts.map((part, i) => {
    const content = String(part.content ?? '');
    let parsed: unknown;
    try {
      parsed = parse(content.replace(/([$%])\1\{/g, '$1{'));
    } catch {
      parsed = undefined;
    }
    return [partName(part, i), parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Body) : content];
  }));
}

/**
 * What differs between two cloud-init documents, for a reviewer: the files written (`write_files` paths)
 * and the other cloud-config keys (packages, runcmd, ...). A part that is not YAML is "changed" as a whole.
 */
export function cloudConfigChanges(before: Body, after: Body): string[] {
  const a = cloudConfigs(before);
  const b = cloudConfigs(after);
  const found: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])]) {
    const x = a.get(name);
    const y = b.get(name);
    if (deepEqual(x, y)) {
      if (rawContent(before, name) !== rawContent(after, name)) found.push(`part ${name}: comments or layout only`);
      continue;
    }
    if (x === undefined || y === undefined || typeof x === 'string' || typeof y === 'string') {
      found.push(`part ${name} ${x === undefined ? 'added' : y === undefined ? 'removed' : 'changed'}`);
      continue;
    }
    const files = (doc: Body) => new Map((Array.isArray(doc.write_files) ? (doc.write_files as Body[]) : []).map((f) => [String(f.path), f]));
    const fa = files(x);
    const fb = files(y);
    for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
      if (!deepEqual(fa.get(path), fb.get(path))) found.push(`file ${path} ${!fa.has(path) ? 'added' : !fb.has(path) ? 'removed' : 'changed'}`);
    }
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => k !== 'write_files').sort()) {
      if (!deepEqual(x[key], y[key])) found.push(`key ${key} changed`);
    }
  }
  return found;
}
