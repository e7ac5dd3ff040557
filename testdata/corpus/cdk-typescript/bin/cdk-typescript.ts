#!/usr/bin/env node
// The CDK app: synthesised by `cdk synth` on a developer's machine or in CI, never on Lambda.
import * as cdk from 'aws-cdk-lib';
import { GreeterStack } from '../lib/greeter-stack';

const app = new cdk.App();
new GreeterStack(app, 'GreeterStack', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
