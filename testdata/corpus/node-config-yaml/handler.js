//! lamina corpus app: totals an invoice with tax rates read by the `config` package from
//! config/*.yml. The handler requires only `config`; config loads js-yaml itself, by a name it
//! holds in a constant, and js-yaml is in this app's dependencies as config's docs ask.
'use strict';

const config = require('config');

exports.handler = async (event) => {
  const rates = config.get('tax.rates');
  const digits = config.get('tax.roundTo');
  const round = (value) => Number(value.toFixed(digits));
  const lines = event.lines.map((line) => {
    const net = line.qty * line.unitPrice;
    const tax = net * rates[line.rate];
    return { description: line.description, net: round(net), tax: round(tax), gross: round(net + tax) };
  });
  return {
    service: config.get('service.name'),
    currency: config.get('service.currency'),
    features: config.get('features'),
    hasPdf: config.has('features.pdf') && config.get('features.pdf'),
    lines,
    total: round(lines.reduce((sum, line) => sum + line.gross, 0)),
  };
};
