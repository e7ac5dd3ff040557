module example.com/go-orders

go 1.19
