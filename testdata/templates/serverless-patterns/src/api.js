exports.handler = async () => require("dep").greet("api");
