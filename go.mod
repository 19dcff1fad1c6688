module github.com/earshot/earshot

go 1.26.8
