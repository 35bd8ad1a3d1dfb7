import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CHANGE_DETAIL_TYPE, CHANGE_EVENT_SOURCE, CHANGE_EVENT_TARGET, type ChangeDetailType } from '../lambdas/core/changes/change-event.js';
import { ENV, SERVICE } from '../lambdas/core/contract.js';
import type { ConversationTable } from './conversation-table.js';
import { ProjectFunction, projectPath, type ProjectFunctionSharedProps } from './project-function.js';
import { TableStreamPipe } from './table-stream-pipe.js';

/** A rule on the change events: which events (by detail type and detail fields) go to which targets. */
export interface ChangeEventRuleProps {
  /** Construct id of the rule (stable: it becomes the logical id). */
  readonly id: string;
  /**
   * Detail types to match.
   * @default - both `Conversation Stored` and `Conversation Updated`
   */
  readonly detailTypes?: readonly ChangeDetailType[];
  /**
   * An EventBridge pattern on the detail, e.g. `{ agent_id: ['agent_…'], call_successful: ['failure'] }`.
   * @default - any detail
   */
  readonly detail?: Record<string, unknown>;
  readonly targets: readonly events.IRuleTarget[];
  /** @default - none */
  readonly description?: string;
}

export interface ChangeEventsProps {
  readonly table: ConversationTable;
  /**
   * The bus the events are put on (context `eventBusName`).
   * @default 'default' (the account's default bus)
   */
  readonly eventBusName?: string;
  /**
   * Add the summary, the user id and the phone call (numbers) to every event (context `eventsIncludePersonalData`).
   * @default false
   */
  readonly includePersonalData?: boolean;
  /**
   * Rules to create on the bus, each with its targets.
   * @default - none
   */
  readonly rules?: readonly ChangeEventRuleProps[];
  readonly functionDefaults?: ProjectFunctionSharedProps;
  /** @default - SQS-managed encryption of the dead-letter queue */
  readonly encryptionKey?: kms.IKey;
}

/**
 * "Tell my other systems when a conversation is stored": the table's stream → an EventBridge pipe → the enrichment
 * that turns each stored change into its event (lambdas/events) → the event bus, source `elevenlabs.conversations`,
 * detail types `Conversation Stored` and `Conversation Updated`. Attach targets with `rules` or `addRule`.
 */
export class ChangeEvents extends Construct {
  public readonly bus: events.IEventBus;
  public readonly enrichment: ProjectFunction;
  public readonly pipe: TableStreamPipe;

  constructor(scope: Construct, id: string, props: ChangeEventsProps) {
    super(scope, id);
    this.bus = events.EventBus.fromEventBusName(this, 'Bus', props.eventBusName ?? 'default');
    this.enrichment = new ProjectFunction(this, 'Enrichment', {
      ...props.functionDefaults,
      entry: projectPath('lambdas/events/handler.ts'),
      serviceName: SERVICE.events,
      description: 'Turns each stored change of a conversation into its change event (events pipe enrichment)',
      environment: { [ENV.eventsIncludePersonalData]: String(props.includePersonalData ?? false) },
    });
    this.pipe = new TableStreamPipe(this, 'Pipe', {
      table: props.table,
      enrichment: this.enrichment,
      targetArn: this.bus.eventBusArn,
      targetParameters: {
        eventBridgeEventBusParameters: { source: CHANGE_EVENT_TARGET.source, detailType: CHANGE_EVENT_TARGET.detailTypePath, time: CHANGE_EVENT_TARGET.timePath },
        inputTemplate: CHANGE_EVENT_TARGET.inputTemplate,
      },
      description: 'Conversation changes → change events on the event bus',
      functionDefaults: props.functionDefaults,
      encryptionKey: props.encryptionKey,
    });
    this.pipe.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }));
    for (const rule of props.rules ?? []) this.addRule(rule);
  }

  /** A rule on the bus matching change events (both detail types unless narrowed) and sending them to `targets`. */
  addRule(props: ChangeEventRuleProps): events.Rule {
    return new events.Rule(this, props.id, {
      eventBus: this.bus,
      description: props.description,
      eventPattern: {
        source: [CHANGE_EVENT_SOURCE],
        detailType: [...(props.detailTypes ?? Object.values(CHANGE_DETAIL_TYPE))],
        ...(props.detail === undefined ? {} : { detail: props.detail }),
      },
      targets: [...props.targets],
    });
  }
}
