module github.com/quire-print/quire

go 1.26.8
