#!/usr/bin/env node
// The CDK app of Stepwise's serverless home.
//
//   npx cdk deploy                      builds the four functions with cargo-lambda and deploys
//   npx cdk synth -c skipBundling=true  synthesizes without building Rust (offline checks, CI)
//
// skipBundling=true tells the CDK to skip asset bundling for every stack (the context key
// aws:cdk:bundling-stacks = []): the template is complete, but its code assets point at the
// unbuilt workspace, so such an assembly must never be deployed.
import * as cdk from 'aws-cdk-lib';
import { StepwiseStack } from '../lib/stepwise-stack';

const app = new cdk.App();
const skip = app.node.tryGetContext('skipBundling');
const skipBundling = skip === true || skip === 'true' || skip === '1';
if (skipBundling) {
  app.node.setContext('aws:cdk:bundling-stacks', []);
}

new StepwiseStack(app, app.node.tryGetContext('stackName') ?? 'Stepwise', {
  // -c kmsKeyArn=arn:aws:kms:…: the KmsKeyArn parameter's default.
  kmsKeyArn: app.node.tryGetContext('kmsKeyArn'),
  description:
    'Stepwise, the serverless home: Step Functions\' API on API Gateway (IAM auth) and four Rust ' +
    'Lambda functions over DynamoDB, SQS, S3 and EventBridge Scheduler (CDK; same resources as template.yaml).',
});
