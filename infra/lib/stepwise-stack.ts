// The serverless home of Stepwise, as CDK: the same resources as ../template.yaml (SAM), under the
// same CloudFormation logical IDs, so that either tool can deploy it and tests/infra/compare.py can
// check that both stay in step. If you change one, change the other.
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
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

const DYNAMODB_CRUD = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];
const DYNAMODB_READ_WRITE = [
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
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

export class StepwiseStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: cdk.StackProps = {}) {
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
      description: 'EventBridge bus that receives execution status change events.',
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
      projectionType: dynamodb.ProjectionType.ALL,
    });
    logicalId(table, 'Table');

    const payloadBucket = new s3.Bucket(this, 'PayloadBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    logicalId(payloadBucket, 'PayloadBucket');

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

    // ------------------------------------------------------------ timers
    const scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ScheduleGroup', {});

    // Where EventBridge Scheduler puts a timer it could not deliver after its retry policy (it
    // takes only a standard queue).
    const schedulerDlq = new sqs.Queue(this, 'SchedulerDeadLetterQueue', {
      retentionPeriod: RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    logicalId(schedulerDlq, 'SchedulerDeadLetterQueue');

    // Assumed by EventBridge Scheduler to deliver due timers to the transitions queue (and the ones
    // it cannot deliver to its dead-letter queue), nothing else.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
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
    const payloads = statement('Payloads', ['s3:GetObject', 's3:PutObject'], [payloadBucket.arnForObjects('*')]);
    const functionRole = (name: string, statements: iam.PolicyStatement[]) => {
      const role = new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
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
      statement('Table', DYNAMODB_CRUD, tableResources),
      statement('Queues', ['sqs:SendMessage'],
        [transitionsQueue.queueArn, tasksQueue.queueArn, timersQueue.queueArn]),
      statement('Timers', ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], [
        `arn:${this.partition}:scheduler:${this.region}:${this.account}:schedule/${scheduleGroup.ref}/*`,
      ]),
      statement('PassSchedulerRole', ['iam:PassRole'], [schedulerRole.roleArn], {
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      }),
      payloads,
    ]);
    const stepperRole = functionRole('StepperRole', [
      statement('Table', DYNAMODB_CRUD, tableResources),
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
      statement('Queues', ['sqs:SendMessage'], [transitionsQueue.queueArn]),
      payloads,
      statement('InvokeTasks', ['lambda:InvokeFunction'], invokableFunctionArns.valueAsList),
    ]);
    const triggerRole = functionRole('TriggerRole', [
      statement('Table', DYNAMODB_START, tableResources),
      statement('Queues', ['sqs:SendMessage'], [transitionsQueue.queueArn]),
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

    const apiFn = rustFunction('ApiFunction', 'api', apiRole, cdk.Duration.seconds(29),
      'Stepwise - the Step Functions API (awsJson1_0) behind API Gateway.');
    const stepperFn = rustFunction('StepperFunction', 'stepper', stepperRole, STEPPER_TIMEOUT,
      'Stepwise - advances executions from the transitions queue.');
    const invokerFn = rustFunction('InvokerFunction', 'invoker', invokerRole, INVOKER_TIMEOUT,
      "Stepwise - runs Task states' calls from the tasks queue.");
    const triggerFn = rustFunction('TriggerFunction', 'trigger', triggerRole, cdk.Duration.seconds(30),
      'Stepwise - starts an execution per S3 notification or EventBridge event.', {
        STEPWISE_TRIGGER_STATE_MACHINE_ARN:
          `arn:${this.partition}:states:${this.region}:${this.account}:stateMachine:${triggerStateMachineName.valueAsString}`,
      });

    // Queue -> function (the roles already hold the consume permissions).
    const transitions = stepperFn.addEventSourceMapping('Transitions', {
      eventSourceArn: transitionsQueue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    logicalId(transitions, 'StepperFunctionTransitions');
    const timers = stepperFn.addEventSourceMapping('Timers', {
      eventSourceArn: timersQueue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    logicalId(timers, 'StepperFunctionTimers');
    // One message a time: a batch is handed back whole when the function times out, and every
    // call in it would be made again.
    const tasks = invokerFn.addEventSourceMapping('Tasks', {
      eventSourceArn: tasksQueue.queueArn,
      batchSize: 1,
      reportBatchItemFailures: true,
    });
    logicalId(tasks, 'InvokerFunctionTasks');

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
  }
}
