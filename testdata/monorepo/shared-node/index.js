// The monorepo's shared helper: formats a duration with ms (its own dependency).
const ms = require('ms');
exports.describe = (millis) => `took ${ms(millis, { long: true })}`;
