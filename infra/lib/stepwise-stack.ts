// The serverless home of Stepwise, as CDK: the same resources as ../template.yaml (SAM), under the
// same CloudFormation logical IDs, so that either tool can deploy it and tests/infra/compare.py can
// check that both stay in step. If you change one, change the other.
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct, IConstruct } from 'constructs';

/** The workspace manifest: every function is a binary of this Cargo workspace. */
const WORKSPACE_MANIFEST = path.join(__dirname, '..', '..', 'Cargo.toml');

/** Stepper timeout; the transitions queue's visibility timeout is six times it. */
const STEPPER_TIMEOUT = cdk.Duration.seconds(60);
/** Invoker timeout (a Task may wait on a Lambda function for up to 15 minutes). */
const INVOKER_TIMEOUT = cdk.Duration.seconds(900);

const RETENTION = cdk.Duration.days(14);

/** The API's access log line (API Gateway's $context variables), as in template.yaml. */
const API_ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  errorMessage: '$context.error.message',
  xrayTraceId: '$context.xrayTraceId',
};

const DYNAMODB_READ_WRITE = [
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
/** The api function's: ListExecutions without a state machine scans. */
const DYNAMODB_API = [...DYNAMODB_READ_WRITE, 'dynamodb:Scan'].sort();
const DYNAMODB_START = [
  'dynamodb:ConditionCheckItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
/** What a Lambda event source mapping needs on its queue (the same as SqsEventSource grants). */
const SQS_CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

function logicalId(construct: IConstruct, id: string): void {
  const resource = construct instanceof cdk.CfnResource
    ? construct
    : (construct.node.defaultChild as cdk.CfnResource);
  resource.overrideLogicalId(id);
}

function statement(
  sid: string,
  actions: string[],
  resources: string[],
  conditions?: Record<string, Record<string, string>>,
): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources, conditions });
}

/** The stack's settings beyond CloudFormation's parameters. */
export interface StepwiseStackProps extends cdk.StackProps {
  /**
   * A customer-managed KMS key's ARN: the default of the KmsKeyArn parameter (table, queues,
   * buckets and log groups encrypted with it). Empty or absent: AWS-owned keys.
   */
  readonly kmsKeyArn?: string;
}

export class StepwiseStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: StepwiseStackProps = {}) {
    super(scope, id, props);

    // ------------------------------------------------------------ parameters
    const invokableFunctionArns = new cdk.CfnParameter(this, 'InvokableFunctionArns', {
      type: 'CommaDelimitedList',
      default: '*',
      description:
        "ARNs of the Lambda functions that Task states may invoke (lambda:InvokeFunction of the " +
        "invoker). The default '*' lets the invoker call any function in the account; narrow it " +
        "for production (add ':*' variants to allow qualified ARNs).",
    });
    const triggerStateMachineName = new cdk.CfnParameter(this, 'TriggerStateMachineName', {
      type: 'String',
      default: 'triggered',
      allowedPattern: '^[A-Za-z0-9_-]{1,80}$',
      description:
        'Name of the Stepwise state machine the trigger function starts for each S3 ' +
        'object-created notification and each matching EventBridge event (create it through the API).',
    });
    const eventBusName = new cdk.CfnParameter(this, 'EventBusName', {
      type: 'String',
      default: 'default',
      description:
        'EventBridge bus that receives the "Step Functions Execution Status Change" event of every ' +
        'execution that starts, succeeds, fails, times out, is aborted or is redriven.',
    });
    const statusEventSource = new cdk.CfnParameter(this, 'StatusEventSource', {
      type: 'String',
      default: 'stepwise.states',
      allowedPattern: '^(?!aws\\.)[A-Za-z0-9._-]{1,256}$',
      description:
        "The source of the status change events. Step Functions' own are `aws.states`, but " +
        'EventBridge keeps `aws.` sources for AWS services, so rules match this one instead.',
    });
    const logRetentionDays = new cdk.CfnParameter(this, 'LogRetentionDays', {
      type: 'Number',
      default: '30',
      allowedValues: ['1', '3', '5', '7', '14', '30', '60', '90', '120', '150', '180', '365', '400',
        '545', '731', '1096', '1827', '2192', '2557', '2922', '3288', '3653'],
      description: "How long the functions' CloudWatch logs are kept.",
    });
    const alarmTopicArn = new cdk.CfnParameter(this, 'AlarmTopicArn', {
      type: 'String',
      default: '',
      description:
        'SNS topic notified when a dead-letter queue holds a message or its oldest message ages ' +
        '(empty: the alarms only show in CloudWatch). `stepwise dlq list --stack NAME` shows the ' +
        'dead messages with their execution; `stepwise dlq redrive` moves them back.',
    });
    const hasAlarmTopic = new cdk.CfnCondition(this, 'HasAlarmTopic', {
      expression: cdk.Fn.conditionNot(cdk.Fn.conditionEquals(alarmTopicArn.valueAsString, '')),
    });

    const retentionDays = new cdk.CfnParameter(this, 'RetentionDays', {
      type: 'Number',
      default: 0,
      minValue: 0,
      maxValue: 36500,
      description:
        'Days after an execution closes that its record, history and payloads are deleted (DynamoDB ' +
        'TTL on the attribute expiresAt, an S3 lifecycle rule on the payload bucket); never a running ' +
        'execution. 0 (the default) keeps everything forever.',
    });
    const hasRetention = new cdk.CfnCondition(this, 'HasRetention', {
      expression: cdk.Fn.conditionNot(cdk.Fn.conditionEquals(retentionDays.valueAsString, 0)),
    });

    // ------------------------------------------------------------ ops: encryption, API, concurrency
    const kmsKeyArn = new cdk.CfnParameter(this, 'KmsKeyArn', {
      type: 'String',
      default: props.kmsKeyArn ?? '',
      allowedPattern: '^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+)?$',
      description:
        'A customer-managed KMS key (its ARN) for the table, the queues, the buckets and the log ' +
        'groups; the function and Scheduler roles get kms:Decrypt and kms:GenerateDataKey on it ' +
        'through those services only. Its key policy must let CloudWatch Logs use it (see ' +
        'infra/README.md). Empty (the default): AWS-owned keys.',
    });
    const hasKmsKey = new cdk.CfnCondition(this, 'HasKmsKey', {
      expression: cdk.Fn.conditionNot(cdk.Fn.conditionEquals(kmsKeyArn.valueAsString, '')),
    });
    /** `value` when KmsKeyArn is set, else nothing (or `otherwise`). */
    const withKey = (value: unknown, otherwise: unknown = cdk.Aws.NO_VALUE) =>
      cdk.Fn.conditionIf(hasKmsKey.logicalId, value, otherwise);
    const apiThrottlingRateLimit = new cdk.CfnParameter(this, 'ApiThrottlingRateLimit', {
      type: 'Number',
      default: 100,
      minValue: 1,
      description: "Requests per second the API's stage accepts on average (API Gateway throttling).",
    });
    const apiThrottlingBurstLimit = new cdk.CfnParameter(this, 'ApiThrottlingBurstLimit', {
      type: 'Number',
      default: 200,
      minValue: 1,
      description: "Requests the API's stage accepts in a burst above the rate.",
    });
    const stepperMaximumConcurrency = new cdk.CfnParameter(this, 'StepperMaximumConcurrency', {
      type: 'Number',
      default: 50,
      minValue: 2,
      maxValue: 1000,
      description:
        'Most stepper instances each of its two queues (transitions, timers) runs at once (the ' +
        "event source mappings' MaximumConcurrency), so the stepper cannot take the account's " +
        'concurrency from the API and the task functions.',
    });
    const invokerMaximumConcurrency = new cdk.CfnParameter(this, 'InvokerMaximumConcurrency', {
      type: 'Number',
      default: 100,
      minValue: 2,
      maxValue: 1000,
      description:
        'Most invoker instances running at once (one Task call each): the task functions it ' +
        "calls and the API keep the rest of the account's concurrency.",
    });

    const invokerReservedConcurrency = new cdk.CfnParameter(this, 'InvokerReservedConcurrency', {
      type: 'Number',
      default: 0,
      minValue: 0,
      maxValue: 10000,
      description:
        "Task calls are handed to the invoker directly (asynchronous invocations), beside the " +
        "tasks queue's mapping: a number above 0 caps (and reserves) the invoker's instances, so " +
        'that a burst of executions cannot take the concurrency of the API and the task functions ' +
        '(Lambda keeps throttled calls and tries them again for up to six hours). Keep it above ' +
        'InvokerMaximumConcurrency. 0: no cap.',
    });
    const hasInvokerReservedConcurrency = new cdk.CfnCondition(this, 'HasInvokerReservedConcurrency', {
      expression: cdk.Fn.conditionNot(cdk.Fn.conditionEquals(invokerReservedConcurrency.valueAsNumber, 0)),
    });

    // ------------------------------------------------------------ storage
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: 'GSI1',
      partitionKey: { name: 'GSI1PK', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'GSI1SK', type: dynamodb.AttributeType.STRING },
      // Only what listings read (shared/store-aws/src/listing.rs, PROJECTED): a step that
      // changes none of these writes nothing to the index.
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['meta', 'status', 'stopMs', 'redriveCount', 'versionArn', 'aliasArn', 'mapRunArn', 'arn', 'body', 'parent'],
    });
    logicalId(table, 'Table');
    // KmsKeyArn set: the customer-managed key; else DynamoDB's AWS-owned key.
    (table.node.defaultChild as dynamodb.CfnTable).addPropertyOverride('SSESpecification', withKey({
      SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: kmsKeyArn.valueAsString,
    }));
    // Items carry expiresAt only when RetentionDays is set (see shared/store-aws/src/retention.rs).
    (table.node.defaultChild as dynamodb.CfnTable).addPropertyOverride(
      'TimeToLiveSpecification',
      cdk.Fn.conditionIf(
        hasRetention.logicalId,
        { AttributeName: 'expiresAt', Enabled: true },
        cdk.Aws.NO_VALUE,
      ),
    );

    const payloadBucket = new s3.Bucket(this, 'PayloadBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    logicalId(payloadBucket, 'PayloadBucket');
    (payloadBucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('LifecycleConfiguration', {
      Rules: [
        // Queue messages too large for SQS (messages/): read when received, and SQS keeps a
        // message 14 days at most (its dead-letter queue counts from the first send), so 45 days
        // leave time for one `stepwise dlq redrive`.
        { Id: 'ExpireQueueMessages', Status: 'Enabled', Prefix: 'messages/', ExpirationInDays: 45 },
        { Id: 'AbortIncompleteUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
        // A closed execution's payloads are tagged (and their age restarted) at its close.
        cdk.Fn.conditionIf(
          hasRetention.logicalId,
          {
            Id: 'ExpireClosedExecutions',
            Status: 'Enabled',
            TagFilters: [{ Key: 'stepwise-retention', Value: 'closed' }],
            ExpirationInDays: retentionDays.valueAsNumber,
          },
          cdk.Aws.NO_VALUE,
        ),
      ],
    });

    // ------------------------------------------------------------ queues
    const transitionsDlq = new sqs.Queue(this, 'TransitionsDeadLetterQueue', {
      fifo: true,
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    logicalId(transitionsDlq, 'TransitionsDeadLetterQueue');
    // One message group per execution (MessageGroupId = execution ARN), deduplication id = event id.
    // Content-based deduplication on: EventBridge Scheduler sends long timers here and sends no
    // deduplication id (without it, every such send fails).
    const transitionsQueue = new sqs.Queue(this, 'TransitionsQueue', {
      fifo: true,
      contentBasedDeduplication: true,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: cdk.Duration.seconds(STEPPER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: transitionsDlq, maxReceiveCount: 5 },
    });
    logicalId(transitionsQueue, 'TransitionsQueue');

    const tasksDlq = new sqs.Queue(this, 'TasksDeadLetterQueue', {
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    logicalId(tasksDlq, 'TasksDeadLetterQueue');
    const tasksQueue = new sqs.Queue(this, 'TasksQueue', {
      visibilityTimeout: cdk.Duration.seconds(INVOKER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: tasksDlq, maxReceiveCount: 5 },
    });
    logicalId(tasksQueue, 'TasksQueue');

    // Trigger invocations that failed after Lambda's asynchronous retries (S3 and EventBridge
    // invoke it asynchronously): Lambda's on-failure destination record, with the event.
    const triggerDlq = new sqs.Queue(this, 'TriggerDeadLetterQueue', {
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    logicalId(triggerDlq, 'TriggerDeadLetterQueue');

    // ------------------------------------------------------------ alarms
    // A message in a dead-letter queue is an execution that waits forever: alarm on the first
    // one, and again when the oldest has waited a day (they expire after 14).
    const alarmActions = cdk.Fn.conditionIf(
      hasAlarmTopic.logicalId, [alarmTopicArn.valueAsString], cdk.Aws.NO_VALUE);
    const dlqAlarms = (id: string, queue: sqs.Queue, depth: string, age: string) => {
      const alarm = (suffix: string, metricName: string, period: number, threshold: number, description: string) => {
        const a = new cloudwatch.CfnAlarm(this, `${id}${suffix}`, {
          alarmDescription: description,
          namespace: 'AWS/SQS',
          metricName,
          dimensions: [{ name: 'QueueName', value: queue.queueName }],
          statistic: 'Maximum',
          period,
          evaluationPeriods: 1,
          threshold,
          comparisonOperator: 'GreaterThanThreshold',
          treatMissingData: 'notBreaching',
        });
        a.addPropertyOverride('AlarmActions', alarmActions);
        a.addPropertyOverride('OKActions', alarmActions);
        a.overrideLogicalId(`${id}${suffix}`);
      };
      alarm('DepthAlarm', 'ApproximateNumberOfMessagesVisible', 60, 0, depth);
      alarm('AgeAlarm', 'ApproximateAgeOfOldestMessage', 300, 86400, age);
    };
    dlqAlarms('TransitionsDeadLetterQueue', transitionsDlq,
      'Stepwise - a transition is in the transitions dead-letter queue (its execution is stuck; stepwise dlq redrive).',
      'Stepwise - the oldest message of the transitions dead-letter queue is a day old (messages expire after 14 days).');
    dlqAlarms('TasksDeadLetterQueue', tasksDlq,
      'Stepwise - a task call or job poll is in the tasks dead-letter queue (its execution is stuck; stepwise dlq redrive).',
      'Stepwise - the oldest message of the tasks dead-letter queue is a day old (messages expire after 14 days).');
    dlqAlarms('TriggerDeadLetterQueue', triggerDlq,
      'Stepwise - an S3 or EventBridge event could not start its execution (the trigger dead-letter queue holds it).',
      'Stepwise - the oldest message of the trigger dead-letter queue is a day old (messages expire after 14 days).');

    const timersDlq = new sqs.Queue(this, 'TimersDeadLetterQueue', {
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    logicalId(timersDlq, 'TimersDeadLetterQueue');
    // Timers due within 15 minutes (waits, retry delays, task timeouts and heartbeats) as delayed
    // messages, forwarded by the stepper: apart from the tasks, so none waits behind a slow call.
    const timersQueue = new sqs.Queue(this, 'TimersQueue', {
      visibilityTimeout: cdk.Duration.seconds(STEPPER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: timersDlq, maxReceiveCount: 5 },
    });
    logicalId(timersQueue, 'TimersQueue');
    dlqAlarms('TimersDeadLetterQueue', timersDlq,
      'Stepwise - a timer is in the timers dead-letter queue (its execution is stuck; stepwise dlq redrive).',
      'Stepwise - the oldest message of the timers dead-letter queue is a day old (messages expire after 14 days).');

    // ------------------------------------------------------------ timers
    const scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ScheduleGroup', {});

    // Where EventBridge Scheduler puts a timer it could not deliver after its retry policy (it
    // takes only a standard queue).
    const schedulerDlq = new sqs.Queue(this, 'SchedulerDeadLetterQueue', {
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    logicalId(schedulerDlq, 'SchedulerDeadLetterQueue');
    dlqAlarms('SchedulerDeadLetterQueue', schedulerDlq,
      'Stepwise - EventBridge Scheduler could not deliver a timer (the scheduler dead-letter queue holds it; its execution is stuck).',
      'Stepwise - the oldest message of the scheduler dead-letter queue is a day old (messages expire after 14 days).');

    // Assumed by EventBridge Scheduler to deliver due timers to the transitions queue (and the ones
    // it cannot deliver to its dead-letter queue), nothing else.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      // Only schedules of this deployment's group (no confused deputy).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account, 'aws:SourceArn': scheduleGroup.attrArn },
        },
      }),
      inlinePolicies: {
        SendToTransitionsQueue: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['sqs:SendMessage'],
              resources: [transitionsQueue.queueArn, schedulerDlq.queueArn],
            }),
          ],
        }),
      },
    });
    logicalId(schedulerRole, 'SchedulerRole');

    // ------------------------------------------------------------ roles (least privilege)
    const tableResources = [table.tableArn, `${table.tableArn}/index/*`];
    const payloads = statement(
      'Payloads',
      ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
      [payloadBucket.arnForObjects('*')],
    );
    const assumeStateMachineRoles = statement('AssumeStateMachineRoles', ['sts:AssumeRole'], [
      `arn:${this.partition}:iam::${this.account}:role/*`,
    ]);
    const functionRole = (name: string, statements: iam.PolicyStatement[]) => {
      const role = new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
          iam.ManagedPolicy.fromAwsManagedPolicyName('AWSXRayDaemonWriteAccess'),
        ],
        inlinePolicies: { Stepwise: new iam.PolicyDocument({ statements }) },
      });
      logicalId(role, name);
      // Keep CDK from adding statements behind our back: the inline policy is the whole grant.
      return role.withoutPolicyUpdates();
    };

    // The api function applies events inline (SendTaskSuccess, Stop, Redrive): a step it commits
    // may start a timer beyond 15 minutes.
    const apiRole = functionRole('ApiRole', [
      statement('Table', DYNAMODB_API, tableResources),
      statement('Queues', ['sqs:SendMessage'],
        [transitionsQueue.queueArn, tasksQueue.queueArn, timersQueue.queueArn]),
      statement('Timers', ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], [
        `arn:${this.partition}:scheduler:${this.region}:${this.account}:schedule/${scheduleGroup.ref}/*`,
      ]),
      statement('PassSchedulerRole', ['iam:PassRole'], [schedulerRole.roleArn], {
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      }),
      payloads,
      // StopExecution, RedriveExecution and the task callbacks commit status changes.
      statement('StatusEvents', ['events:PutEvents'], [
        `arn:${this.partition}:events:${this.region}:${this.account}:event-bus/${eventBusName.valueAsString}`,
      ]),
      // CreateStateMachine/UpdateStateMachine refuse a roleArn this function cannot assume, as
      // Step Functions does (the invoker will call as that role).
      assumeStateMachineRoles,
    ]);
    const stepperRole = functionRole('StepperRole', [
      statement('Table', DYNAMODB_READ_WRITE, tableResources),
      statement('ConsumeTransitions', SQS_CONSUME, [transitionsQueue.queueArn, timersQueue.queueArn]),
      statement('Queues', ['sqs:SendMessage'],
        [transitionsQueue.queueArn, tasksQueue.queueArn, timersQueue.queueArn]),
      statement('Timers', ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], [
        `arn:${this.partition}:scheduler:${this.region}:${this.account}:schedule/${scheduleGroup.ref}/*`,
      ]),
      statement('PassSchedulerRole', ['iam:PassRole'], [schedulerRole.roleArn], {
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      }),
      payloads,
      statement('StatusEvents', ['events:PutEvents'], [
        `arn:${this.partition}:events:${this.region}:${this.account}:event-bus/${eventBusName.valueAsString}`,
      ]),
    ]);
    const invokerRole = functionRole('InvokerRole', [
      statement('Table', DYNAMODB_READ_WRITE, tableResources),
      statement('ConsumeTasks', SQS_CONSUME, [tasksQueue.queueArn]),
      // The invoker applies a task's outcome itself: the step it commits sends the next Task
      // call, may start a timer, and polls `.sync` jobs on the tasks queue.
      statement('Queues', ['sqs:SendMessage'],
        [transitionsQueue.queueArn, tasksQueue.queueArn, timersQueue.queueArn]),
      // Lambda sends failed asynchronous invocations there as the function's role.
      statement('OnFailure', ['sqs:SendMessage'], [tasksDlq.queueArn]),
      statement('Timers', ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], [
        `arn:${this.partition}:scheduler:${this.region}:${this.account}:schedule/${scheduleGroup.ref}/*`,
      ]),
      statement('PassSchedulerRole', ['iam:PassRole'], [schedulerRole.roleArn], {
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      }),
      payloads,
      statement('InvokeTasks', ['lambda:InvokeFunction'], invokableFunctionArns.valueAsList),
      // A `.sync` child stopped with its parent's task commits its ABORTED here.
      statement('StatusEvents', ['events:PutEvents'], [
        `arn:${this.partition}:events:${this.region}:${this.account}:event-bus/${eventBusName.valueAsString}`,
      ]),
      // Every service integration is called as the execution's roleArn (STS AssumeRole, the
      // session named after the execution), as Step Functions does. No session tags.
      assumeStateMachineRoles,
    ]);
    const triggerRole = functionRole('TriggerRole', [
      statement('Table', DYNAMODB_START, tableResources),
      statement('Queues', ['sqs:SendMessage'], [transitionsQueue.queueArn]),
      // Lambda sends failed asynchronous invocations there as the function's role.
      statement('OnFailure', ['sqs:SendMessage'], [triggerDlq.queueArn]),
    ]);

    // ------------------------------------------------------------ functions
    const environment: Record<string, string> = {
      STEPWISE_TABLE: table.tableName,
      STEPWISE_TRANSITIONS_QUEUE_URL: transitionsQueue.queueUrl,
      STEPWISE_TRANSITIONS_QUEUE_ARN: transitionsQueue.queueArn,
      STEPWISE_TASKS_QUEUE_URL: tasksQueue.queueUrl,
      STEPWISE_TIMERS_QUEUE_URL: timersQueue.queueUrl,
      STEPWISE_PAYLOAD_BUCKET: payloadBucket.bucketName,
      STEPWISE_SCHEDULE_GROUP: scheduleGroup.ref,
      STEPWISE_SCHEDULER_ROLE_ARN: schedulerRole.roleArn,
      STEPWISE_SCHEDULER_DEAD_LETTER_QUEUE_ARN: schedulerDlq.queueArn,
      STEPWISE_EVENT_BUS: eventBusName.valueAsString,
      STEPWISE_RETENTION_DAYS: retentionDays.valueAsString,
      STEPWISE_EVENT_SOURCE: statusEventSource.valueAsString,
    };
    const rustFunction = (
      id: string,
      binaryName: string,
      role: iam.IRole,
      timeout: cdk.Duration,
      description: string,
      extraEnvironment: Record<string, string> = {},
    ): lambda.Function => {
      const fn = new RustFunction(this, id, {
        manifestPath: WORKSPACE_MANIFEST,
        binaryName,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout,
        role,
        description,
        tracing: lambda.Tracing.ACTIVE,
        environment: { ...environment, ...extraEnvironment },
      });
      logicalId(fn, id);
      // The same build metadata as template.yaml: lets `sam build` build a CDK template too, and
      // lets tests/infra/compare.py check which binary each function runs.
      const cfnFn = fn.node.defaultChild as cdk.CfnResource;
      cfnFn.addMetadata('BuildMethod', 'rust-cargolambda');
      cfnFn.addMetadata('BuildProperties', { Binary: binaryName });
      // The role's ARN is referenced already: an explicit DependsOn is redundant (cfn-lint W3005).
      cfnFn.addDeletionOverride('DependsOn');
      return fn;
    };

    const invokerFn = rustFunction('InvokerFunction', 'invoker', invokerRole, INVOKER_TIMEOUT,
      "Stepwise - runs Task states' calls, handed to it directly or from the tasks queue.");
    (invokerFn.node.defaultChild as lambda.CfnFunction).addPropertyOverride(
      'ReservedConcurrentExecutions',
      cdk.Fn.conditionIf(hasInvokerReservedConcurrency.logicalId,
        invokerReservedConcurrency.valueAsNumber, cdk.Aws.NO_VALUE));
    // Task calls of the steps the api and the stepper commit are handed to the invoker directly
    // (asynchronous invocations): no tasks-queue hop (its send, receive and delete) per call.
    const handsTasks = { STEPWISE_INVOKER_FUNCTION: invokerFn.functionName };
    const apiFn = rustFunction('ApiFunction', 'api', apiRole, cdk.Duration.seconds(29),
      'Stepwise - the Step Functions API (awsJson1_0) behind API Gateway.', handsTasks);
    const stepperFn = rustFunction('StepperFunction', 'stepper', stepperRole, STEPPER_TIMEOUT,
      'Stepwise - advances executions from the transitions queue.', handsTasks);
    // The functions that commit steps may invoke the invoker (a policy of its own: the invoker's
    // role in it would otherwise depend on the function that depends on the role).
    const invokerInvokePolicy = new iam.CfnPolicy(this, 'InvokerInvokePolicy', {
      policyName: 'HandTasksToInvoker',
      roles: [apiRole.roleName, stepperRole.roleName, invokerRole.roleName],
      policyDocument: new iam.PolicyDocument({
        statements: [statement('HandTasksToInvoker', ['lambda:InvokeFunction'], [invokerFn.functionArn])],
      }),
    });
    invokerInvokePolicy.overrideLogicalId('InvokerInvokePolicy');
    // A failed one is tried twice more, then its event goes to the tasks dead-letter queue (as
    // SAM's EventInvokeConfig; `stepwise dlq` lists and redrives it).
    const invokerInvokeConfig = new lambda.CfnEventInvokeConfig(this, 'InvokerFunctionEventInvokeConfig', {
      functionName: invokerFn.functionName,
      qualifier: '$LATEST',
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: tasksDlq.queueArn } },
    });
    invokerInvokeConfig.overrideLogicalId('InvokerFunctionEventInvokeConfig');
    const triggerFn = rustFunction('TriggerFunction', 'trigger', triggerRole, cdk.Duration.seconds(30),
      'Stepwise - starts an execution per S3 notification or EventBridge event.', {
        STEPWISE_TRIGGER_STATE_MACHINE_ARN:
          `arn:${this.partition}:states:${this.region}:${this.account}:stateMachine:${triggerStateMachineName.valueAsString}`,
      });

    // Starts are named after the event, so Lambda's retries of a failed invocation start nothing
    // twice; what still fails lands in the trigger's dead-letter queue (as SAM's EventInvokeConfig).
    const invokeConfig = new lambda.CfnEventInvokeConfig(this, 'TriggerFunctionEventInvokeConfig', {
      functionName: triggerFn.functionName,
      qualifier: '$LATEST',
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: triggerDlq.queueArn } },
    });
    invokeConfig.overrideLogicalId('TriggerFunctionEventInvokeConfig');

    // The functions' logs, kept LogRetentionDays.
    for (const [id, fn] of [['ApiFunction', apiFn], ['StepperFunction', stepperFn],
      ['InvokerFunction', invokerFn], ['TriggerFunction', triggerFn]] as [string, lambda.Function][]) {
      const group = new logs.CfnLogGroup(this, `${id}LogGroup`, {
        logGroupName: `/aws/lambda/${fn.functionName}`,
        retentionInDays: logRetentionDays.valueAsNumber,
      });
      group.addPropertyOverride('KmsKeyId', withKey(kmsKeyArn.valueAsString));
      group.overrideLogicalId(`${id}LogGroup`);
    }

    // Queue -> function (the roles already hold the consume permissions).
    const transitions = stepperFn.addEventSourceMapping('Transitions', {
      eventSourceArn: transitionsQueue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    logicalId(transitions, 'StepperFunctionTransitions');
    (transitions.node.defaultChild as lambda.CfnEventSourceMapping).addPropertyOverride(
      'ScalingConfig', { MaximumConcurrency: stepperMaximumConcurrency.valueAsNumber });
    const timers = stepperFn.addEventSourceMapping('Timers', {
      eventSourceArn: timersQueue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    logicalId(timers, 'StepperFunctionTimers');
    (timers.node.defaultChild as lambda.CfnEventSourceMapping).addPropertyOverride(
      'ScalingConfig', { MaximumConcurrency: stepperMaximumConcurrency.valueAsNumber });
    // One message a time: a batch is handed back whole when the function times out, and every
    // call in it would be made again.
    const tasks = invokerFn.addEventSourceMapping('Tasks', {
      eventSourceArn: tasksQueue.queueArn,
      batchSize: 1,
      reportBatchItemFailures: true,
    });
    logicalId(tasks, 'InvokerFunctionTasks');
    (tasks.node.defaultChild as lambda.CfnEventSourceMapping).addPropertyOverride(
      'ScalingConfig', { MaximumConcurrency: invokerMaximumConcurrency.valueAsNumber });

    // Trigger: an example bucket's object-created notifications (a native S3 notification, as SAM
    // declares it, rather than CDK's notifications custom resource) and an example EventBridge rule.
    const objectCreatedPermission = new lambda.CfnPermission(this, 'TriggerFunctionObjectCreatedPermission', {
      action: 'lambda:InvokeFunction',
      functionName: triggerFn.functionName,
      principal: 's3.amazonaws.com',
      sourceAccount: this.account,
    });
    const triggerBucket = new s3.Bucket(this, 'TriggerBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const cfnTriggerBucket = triggerBucket.node.defaultChild as s3.CfnBucket;
    cfnTriggerBucket.notificationConfiguration = {
      lambdaConfigurations: [{ event: 's3:ObjectCreated:*', function: triggerFn.functionArn }],
    };
    cfnTriggerBucket.node.addDependency(objectCreatedPermission);
    logicalId(triggerBucket, 'TriggerBucket');

    const rule = new events.Rule(this, 'TriggerFunctionExampleRule', {
      eventPattern: { source: ['stepwise.example'], detailType: ['StartExecution'] },
      targets: [new targets.LambdaFunction(triggerFn)],
    });
    logicalId(rule, 'TriggerFunctionExampleRule');
    for (const child of rule.node.findAll()) {
      if (child instanceof lambda.CfnPermission) child.overrideLogicalId('TriggerFunctionExampleRulePermission');
    }

    // ------------------------------------------------------------ TLS only
    // Nothing reaches the buckets or queues over plain HTTP (as template.yaml, one policy each).
    const denyInsecure = (action: string, resources: string[]) => ({
      Version: '2012-10-17',
      Statement: [{
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: action,
        Resource: resources,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }],
    });
    for (const [id, bucket] of [['PayloadBucketPolicy', payloadBucket], ['TriggerBucketPolicy', triggerBucket]] as [string, s3.Bucket][]) {
      const policy = new s3.CfnBucketPolicy(this, id, {
        bucket: bucket.bucketName,
        policyDocument: denyInsecure('s3:*', [bucket.bucketArn, `${bucket.bucketArn}/*`]),
      });
      policy.overrideLogicalId(id);
    }
    const tlsQueues = [transitionsQueue, transitionsDlq, tasksQueue, tasksDlq, triggerDlq,
      timersQueue, timersDlq, schedulerDlq];
    const queuesPolicy = new sqs.CfnQueuePolicy(this, 'QueuesPolicy', {
      queues: tlsQueues.map((q) => q.queueUrl),
      policyDocument: denyInsecure('sqs:*', tlsQueues.map((q) => q.queueArn)),
    });
    queuesPolicy.overrideLogicalId('QueuesPolicy');

    // ------------------------------------------------------------ API
    // Every route requires a SigV4 signature for the service `execute-api` (see README.md).
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: this.stackName,
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: { stageName: 'Prod' },
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });
    api.node.tryRemoveChild('Endpoint');
    logicalId(api, 'Api');
    logicalId(api.deploymentStage, 'ApiProdStage');
    // One JSON line per request in ApiAccessLogGroup (API Gateway writes it only once the
    // account's CloudWatch role is set: README.md), and the stage's throttling.
    const accessLogs = new logs.CfnLogGroup(this, 'ApiAccessLogGroup', {
      retentionInDays: logRetentionDays.valueAsNumber,
    });
    accessLogs.addPropertyOverride('KmsKeyId', withKey(kmsKeyArn.valueAsString));
    accessLogs.overrideLogicalId('ApiAccessLogGroup');
    const stage = api.deploymentStage.node.defaultChild as apigateway.CfnStage;
    stage.addPropertyOverride('AccessLogSetting', {
      DestinationArn: accessLogs.attrArn,
      Format: JSON.stringify(API_ACCESS_LOG_FORMAT),
    });
    stage.addPropertyOverride('MethodSettings', [{
      ResourcePath: '/*',
      HttpMethod: '*',
      ThrottlingRateLimit: apiThrottlingRateLimit.valueAsNumber,
      ThrottlingBurstLimit: apiThrottlingBurstLimit.valueAsNumber,
    }]);
    const integration = new apigateway.LambdaIntegration(apiFn, { allowTestInvoke: false });
    const routes: [apigateway.IResource, string][] = [
      [api.root, 'ApiFunctionRootPermissionProd'],
      [api.root.addResource('{proxy+}'), 'ApiFunctionProxyPermissionProd'],
    ];
    for (const [resource, permissionId] of routes) {
      const method = resource.addMethod('ANY', integration);
      for (const child of method.node.children) {
        if (child instanceof lambda.CfnPermission) child.overrideLogicalId(permissionId);
      }
    }

    // ------------------------------------------------------------ ops: KMS on every store
    // KmsKeyArn set: every queue and bucket is encrypted with it (else SSE-SQS and SSE-S3), and
    // each role gets what the services it uses need of the key, through them only.
    for (const q of tlsQueues) {
      const cfn = q.node.defaultChild as sqs.CfnQueue;
      cfn.addPropertyOverride('SqsManagedSseEnabled', withKey(cdk.Aws.NO_VALUE, true));
      cfn.addPropertyOverride('KmsMasterKeyId', withKey(kmsKeyArn.valueAsString));
    }
    for (const b of [payloadBucket, triggerBucket]) {
      (b.node.defaultChild as s3.CfnBucket).addPropertyOverride('BucketEncryption', withKey(
        {
          ServerSideEncryptionConfiguration: [{
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: kmsKeyArn.valueAsString },
            BucketKeyEnabled: true,
          }],
        },
        { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      ));
    }
    const kmsGrant = (roleId: string, services: string[]) => {
      const role = this.node.findChild(roleId).node.defaultChild as iam.CfnRole;
      const policies = role.policies as iam.CfnRole.PolicyProperty[];
      const count = (cdk.Stack.of(this).resolve(policies[0].policyDocument).Statement as unknown[]).length;
      role.addPropertyOverride(`Policies.0.PolicyDocument.Statement.${count}`, withKey({
        Sid: 'Kms',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: kmsKeyArn.valueAsString,
        Condition: {
          StringEquals: {
            'kms:ViaService': services.map((s) => cdk.Fn.sub(`${s}.\${AWS::Region}.amazonaws.com`)),
          },
        },
      }));
    };
    kmsGrant('SchedulerRole', ['sqs']);
    kmsGrant('ApiRole', ['dynamodb', 's3', 'sqs']);
    kmsGrant('StepperRole', ['dynamodb', 's3', 'sqs']);
    kmsGrant('InvokerRole', ['dynamodb', 's3', 'sqs']);
    kmsGrant('TriggerRole', ['dynamodb', 'sqs']);

    // ------------------------------------------------------------ dashboard
    // Executions by status come from the functions' JSON log line "execution status changed"
    // (one per status change event sent: at least once, like the events).
    const functionIds = ['ApiFunction', 'StepperFunction', 'InvokerFunction', 'TriggerFunction'];
    for (const id of functionIds) {
      const filter = new logs.CfnMetricFilter(this, `${id}StatusMetricFilter`, {
        logGroupName: cdk.Fn.ref(`${id}LogGroup`),
        filterPattern: '{ $.message = "execution status changed" }',
        metricTransformations: [{
          metricNamespace: cdk.Fn.sub('Stepwise/${AWS::StackName}'),
          metricName: 'Executions',
          metricValue: '1',
          unit: 'Count',
          dimensions: [{ key: 'Status', value: '$.status' }],
        }],
      });
      filter.overrideLogicalId(`${id}StatusMetricFilter`);
    }
    const widget = (x: number, y: number, title: string, stat: string, metrics: unknown[][], period = 300) => ({
      type: 'metric', x, y, width: 12, height: 6,
      properties: { title, region: '${AWS::Region}', stat, period, view: 'timeSeries', metrics },
    });
    const ns = 'Stepwise/${AWS::StackName}';
    const dlqIds = ['TransitionsDeadLetterQueue', 'TasksDeadLetterQueue', 'TimersDeadLetterQueue',
      'TriggerDeadLetterQueue', 'SchedulerDeadLetterQueue'];
    const lambdaMetric = (name: string) =>
      functionIds.map((f) => ['AWS/Lambda', name, 'FunctionName', `\${${f}}`, { label: f }]);
    const dashboardBody = {
      widgets: [
        widget(0, 0, 'Executions (status changes)', 'Sum', [
          ['RUNNING', 'started'], ['SUCCEEDED', 'succeeded'], ['FAILED', 'failed'],
          ['TIMED_OUT', 'timed out'], ['ABORTED', 'aborted'],
        ].map(([s, label]) => [ns, 'Executions', 'Status', s, { label }])),
        widget(12, 0, 'Dead-letter queues (messages)', 'Maximum', dlqIds.map((q) =>
          ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `\${${q}.QueueName}`, { label: q }]), 60),
        widget(0, 6, 'Oldest message age (s)', 'Maximum', ['TransitionsQueue', 'TasksQueue', 'TimersQueue'].map((q) =>
          ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', `\${${q}.QueueName}`, { label: q }]), 60),
        widget(12, 6, 'Function errors', 'Sum', lambdaMetric('Errors')),
        widget(0, 12, 'Function throttles', 'Sum', lambdaMetric('Throttles')),
        widget(12, 12, 'Function duration p99 (ms)', 'p99', lambdaMetric('Duration')),
      ],
    };
    const dashboard = new cloudwatch.CfnDashboard(this, 'Dashboard', {
      dashboardBody: cdk.Fn.sub(JSON.stringify(dashboardBody)),
    });
    dashboard.overrideLogicalId('Dashboard');

    // ------------------------------------------------------------ outputs
    new cdk.CfnOutput(this, 'ApiUrl', {
      description: 'Endpoint URL of the Step Functions API (IAM auth, service name execute-api).',
      value: `https://${api.restApiId}.execute-api.${this.region}.amazonaws.com/Prod/`,
    });
    new cdk.CfnOutput(this, 'TableName', {
      description: 'DynamoDB table (STEPWISE_TABLE).',
      value: table.tableName,
    });
    new cdk.CfnOutput(this, 'TransitionsQueueUrl', {
      description: 'SQS FIFO transitions queue (STEPWISE_TRANSITIONS_QUEUE_URL).',
      value: transitionsQueue.queueUrl,
    });
    new cdk.CfnOutput(this, 'TasksQueueUrl', {
      description: 'SQS tasks queue (STEPWISE_TASKS_QUEUE_URL).',
      value: tasksQueue.queueUrl,
    });
    new cdk.CfnOutput(this, 'TimersQueueUrl', {
      description: 'SQS timers queue (STEPWISE_TIMERS_QUEUE_URL).',
      value: timersQueue.queueUrl,
    });
    new cdk.CfnOutput(this, 'PayloadBucketName', {
      description: 'S3 bucket for payloads too big for an item (STEPWISE_PAYLOAD_BUCKET).',
      value: payloadBucket.bucketName,
    });
    new cdk.CfnOutput(this, 'TriggerBucketName', {
      description: 'Example bucket whose object-created notifications start executions.',
      value: triggerBucket.bucketName,
    });
    new cdk.CfnOutput(this, 'TransitionsDeadLetterQueueUrl', {
      description: 'Dead transitions (stepwise dlq list / redrive --stack).',
      value: transitionsDlq.queueUrl,
    });
    new cdk.CfnOutput(this, 'TasksDeadLetterQueueUrl', {
      description: 'Dead task calls and job polls (stepwise dlq list / redrive --stack).',
      value: tasksDlq.queueUrl,
    });
    new cdk.CfnOutput(this, 'TimersDeadLetterQueueUrl', {
      description: 'Dead timers (stepwise dlq list / redrive --stack).',
      value: timersDlq.queueUrl,
    });
    new cdk.CfnOutput(this, 'TriggerDeadLetterQueueUrl', {
      description: "Trigger invocations that failed after Lambda's retries (stepwise dlq list --stack).",
      value: triggerDlq.queueUrl,
    });
    new cdk.CfnOutput(this, 'InvokerRoleArn', {
      description: "The role the invoker assumes state machine roles with: each state machine's " +
        "roleArn must trust it (sts:AssumeRole) for its executions' service calls.",
      value: invokerRole.roleArn,
    });
    new cdk.CfnOutput(this, 'ApiRoleArn', {
      description: 'The role the api function checks a new roleArn with (AssumeRole at ' +
        "CreateStateMachine and UpdateStateMachine): each state machine's roleArn must trust it too.",
      value: apiRole.roleArn,
    });
  }
}
