import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STACK_NAME } from '../lambdas/core/contract.js';
import { ConversationsStack } from '../lib/conversations-stack.js';
import { readStackConfigOrExit } from '../lib/stack-config.js';

const app = new App();
const config = readStackConfigOrExit(app.node);
new ConversationsStack(app, config.stackName ?? DEFAULT_STACK_NAME, config);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
