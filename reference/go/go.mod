module workerpool-patterns/reference/go

go 1.19
