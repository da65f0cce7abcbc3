import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Checks that need a real Terraform, which neither Debian nor npm packages: `npm run test:terraform`.
    exclude: ['**/node_modules/**', ...(process.env.WITH_TERRAFORM ? [] : ['test/terraform/**'])],
    // Real-tool checks spawn nginx, cloud-init, gunicorn and systemd-analyze; give them room on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
