/**
 * Imported first by every command entry point: the AWS SDK prints a 9-line notice that it will need Node ≥ 22
 * (the CLI supports Node ≥ 20.19; the functions run on Node 24) on stderr of every command otherwise. The variable is
 * read when a client is built; a value the user set is kept.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
