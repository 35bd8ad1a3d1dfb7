import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConversationsStack } from '../lib/conversations-stack.js';
import { readStackConfig } from '../lib/stack-config.js';

const app = new App();
new ConversationsStack(app, 'ElevenLabsConversations', readStackConfig(app.node));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
