// A second handler of the service: it imports nothing, so its artifact holds no package.
exports.handler = async () => ({ statusCode: 200, body: "bye" });
