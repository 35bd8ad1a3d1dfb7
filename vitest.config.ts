import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // aws-cdk-lib's CloudFormation validator costs seconds per synth; the real `cdk synth` keeps it on.
    env: { CDK_VALIDATION: 'false', POWERTOOLS_DEV: 'false', POWERTOOLS_METRICS_DISABLED: 'true', AWS_REGION: 'us-east-1' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
