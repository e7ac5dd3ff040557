exports.handler = async () => "hello";
