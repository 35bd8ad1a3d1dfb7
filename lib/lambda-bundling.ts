/**
 * How every Lambda bundle is built, in esbuild's terms: lib/project-function.ts hands these to NodejsFunction and
 * bin/bench/bundles.ts to esbuild directly, so the bench measures exactly what the stack deploys. No aws-cdk-lib
 * import here: the bench loads this module.
 */

/** esbuild's target: the Lambda runtime's Node version. */
export const LAMBDA_BUNDLE_TARGET = 'node24';

/** ES module builds first (the AWS SDK's `dist-es`, Powertools' `lib/esm`): they tree-shake and need no require shim. */
export const LAMBDA_BUNDLE_MAIN_FIELDS = ['module', 'main'] as const;

/**
 * Never bundled: the ElevenLabs SDK (~5 MB, ~1 s of INIT). Kept external so an accidental import cannot grow a bundle
 * (the function would fail at start-up instead; test/infra asserts no bundle imports it).
 */
export const LAMBDA_BUNDLE_EXTERNALS = ['@elevenlabs/elevenlabs-js'] as const;

/**
 * Packages replaced in every bundle, resolved from the project root (esbuild's working directory). The SDK's default
 * credential chain (`@aws-sdk/credential-provider-node`: SSO, STS via `@aws-sdk/nested-clients`, INI files, process,
 * web identity, container and instance metadata; ~95 KB minified per bundle) becomes the environment provider, the
 * only source of credentials in Lambda (lambdas/core/aws/lambda-credentials.ts).
 */
export const LAMBDA_BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/core/aws/lambda-credentials.ts',
};
