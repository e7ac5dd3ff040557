// Benchmark handler: loads every dependency, as a large real function would.
const { S3Client } = require("@aws-sdk/client-s3");
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const AWS = require("aws-sdk");
const { format } = require("date-fns");
const _ = require("lodash");
const moment = require("moment");
const { of } = require("rxjs");
const ts = require("typescript");

exports.handler = async () => ({
  clients: [typeof S3Client, typeof DynamoDBClient, typeof AWS.S3],
  date: format(new Date(0), "yyyy-MM-dd"),
  chunk: _.chunk([1, 2, 3, 4], 2),
  moment: moment.utc(0).format("YYYY"),
  rx: typeof of,
  ts: ts.version,
});
