import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // aws-cdk-lib's CloudFormation validator costs seconds per synth; the real `cdk synth` keeps it on. The SDK's
    // notice that it will need Node ≥ 22 (the functions run on Node 24) would repeat in every worker's output.
    env: {
      CDK_VALIDATION: 'false',
      POWERTOOLS_DEV: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
