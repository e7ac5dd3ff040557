exports.handler = async () => require("./extra/util.js").twice(2);
