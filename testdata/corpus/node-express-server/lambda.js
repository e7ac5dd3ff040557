//! lamina corpus app: the Lambda entry point. aws-serverless-express starts an HTTP server on a
//! UNIX socket on the first call and leaves it listening for the next invocations.
'use strict';

const awsServerlessExpress = require('aws-serverless-express');
const app = require('./app');

const server = awsServerlessExpress.createServer(app);

exports.handler = async (event, context) => {
  const response = await awsServerlessExpress.proxy(server, event, context, 'PROMISE').promise;
  // The Date header is the only part of the answer that changes from one call to the next.
  delete response.headers.date;
  return response;
};
