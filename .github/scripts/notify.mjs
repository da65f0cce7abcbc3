#!/usr/bin/env node
// Posts one message to the environment's chat webhook: a deploy failed, drifted, or waits for approval.
//
//   NOTIFY_WEBHOOK_URL=... node .github/scripts/notify.mjs "<first line>" [file with more lines]
//
// The body is {"text": "..."}, which Slack, Mattermost, Rocket.Chat and Discord's Slack-compatible
// endpoint (<webhook>/slack) accept. NOTIFY_WEBHOOK_URL comes from the GitHub environment's secrets, on
// this step only. A notice must never turn a green job red or hide why a red one failed: without a URL, or
// when the post fails, this prints a workflow warning and exits 0.
import { readFileSync } from 'node:fs';

const LIMIT = 3500; // chat services cut or refuse long messages; the run link carries the rest

async function main([title, file]) {
  const url = process.env.NOTIFY_WEBHOOK_URL;
  if (!title) return warn('usage: notify.mjs "<first line>" [file]');
  if (!url) return warn(`no NOTIFY_WEBHOOK_URL in this environment's secrets; not sent: ${title}`);
  const run = process.env.GITHUB_SERVER_URL && process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
    : '';
  let body = title;
  if (file) {
    try {
      body += `\n${readFileSync(file, 'utf8').trim()}`;
    } catch (error) {
      body += `\n(details unavailable: ${error.code ?? error.message})`;
    }
  }
  if (body.length > LIMIT) body = `${body.slice(0, LIMIT)}\n...`;
  if (run) body += `\n${run}`;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: body }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) return warn(`webhook answered ${res.status}; not delivered: ${title}`);
  } catch (error) {
    return warn(`webhook unreachable (${error.cause?.code ?? error.name}); not delivered: ${title}`);
  }
  console.log(`notified: ${title}`);
  return 0;
}

function warn(message) {
  console.log(`::warning::notify: ${message}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
