// Turns titles into slugs, with a name-based (deterministic) UUID for each.
const _ = require('lodash');
const { v5: uuidv5 } = require('uuid');
const { describe } = require('shared-node');
const NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
exports.handler = async (event) => ({
  slugs: event.titles.map((title) => ({ slug: _.kebabCase(title), id: uuidv5(title, NAMESPACE) })),
  timing: describe(event.millis),
});
