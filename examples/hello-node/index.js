// A tiny handler: formats a duration and escapes a name.
const ms = require("ms");
const escapeHtml = require("escape-html");

exports.handler = async (event) => {
  const name = escapeHtml(event.name ?? "<world>");
  return { statusCode: 200, body: `hello ${name}, see you in ${ms(event.delayMs ?? 90000, { long: true })}` };
};
