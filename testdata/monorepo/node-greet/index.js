// Greets every name of the event, in title case, with the shared helper's duration.
const _ = require('lodash');
const { describe } = require('shared-node');
exports.handler = async (event) => ({
  greetings: _.map(event.names, (name) => `Hello, ${_.startCase(name)}!`),
  timing: describe(event.millis),
});
