console.log("seeding the table");
