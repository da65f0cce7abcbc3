/**
 * HTTP requests as the load balancer makes them: from the load namespace to Nginx on the droplet.
 * The host has no route to that side, so requests run curl inside the namespace.
 */
import { run } from './lib/proc.js';
import { NET } from './network.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export async function httpRequest(method: string, url: string, timeoutMs: number, body?: string): Promise<HttpResponse> {
  const args = ['netns', 'exec', NET.loadNs, 'curl', '-sS', '-i', '-X', method, '-m', String(Math.ceil(timeoutMs / 1000)), '-H', `X-Forwarded-For: 203.0.113.7`];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
  args.push(url);
  const r = await run('ip', args, { timeoutMs: timeoutMs + 5000, input: body });
  // Split the head from the body at the first blank line.
  const text = r.stdout.replace(/\r\n/g, '\n');
  const cut = text.indexOf('\n\n');
  const head = cut < 0 ? text : text.slice(0, cut);
  const [statusLine, ...lines] = head.split('\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: cut < 0 ? '' : text.slice(cut + 2) };
}

export const httpGet = (url: string, timeoutMs: number) => httpRequest('GET', url, timeoutMs);
