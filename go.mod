module github.com/piermq/pier

go 1.26.8
