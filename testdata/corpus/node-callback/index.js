//! lamina corpus app: a callback-style handler (the shape of the older Lambda blueprints) that
//! groups an order's lines with lodash and names the order and each line with uuid v5.
'use strict';

const _ = require('lodash');
const { v5: uuidv5, validate, version } = require('uuid');

// Fixed, so the same order always gets the same ids.
const ORDERS_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

const summary = _.template('<%= count %> lines, <%= _.join(categories, " / ") %>: <%= total %> EUR');

exports.handler = function (event, context, callback) {
  let order;
  try {
    order = JSON.parse(event.body);
  } catch (err) {
    callback(null, { statusCode: 400, body: JSON.stringify({ message: `bad JSON: ${err.message}` }) });
    return;
  }
  if (!Array.isArray(order.lines) || order.lines.length === 0) {
    callback(new Error('an order needs at least one line'));
    return;
  }

  const orderId = uuidv5(`${order.customer}/${order.reference}`, ORDERS_NAMESPACE);
  const lines = _.map(order.lines, (line) => ({
    ..._.pick(line, ['sku', 'category', 'qty']),
    id: uuidv5(line.sku, orderId),
    amount: _.round(line.qty * line.price, 2),
  }));
  const byCategory = _.mapValues(_.groupBy(lines, 'category'), (group) => ({
    lines: group.length,
    amount: _.round(_.sumBy(group, 'amount'), 2),
  }));
  const total = _.round(_.sumBy(lines, 'amount'), 2);

  // Answer on a later turn of the event loop, as handlers waiting on I/O do.
  setImmediate(() =>
    callback(null, {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        orderId,
        valid: validate(orderId) && version(orderId) === 5,
        customer: _.startCase(_.toLower(order.customer)),
        lines: _.sortBy(lines, ['category', 'sku']),
        byCategory,
        total,
        summary: summary({ count: lines.length, categories: _.keys(byCategory).sort(), total: total.toFixed(2) }),
        remainingTimeKnown: typeof context.getRemainingTimeInMillis() === 'number',
      }),
    }),
  );
};
