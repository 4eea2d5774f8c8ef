import subprocess

from django.http import HttpResponse
from django.shortcuts import render
from django.views import View

from . import queries


def index(request):
    return render(request, "blog/index.html", {"path": request.path})


def post_detail(request, post_id):
    return HttpResponse("<h1>Post %d</h1>" % post_id)


def by_tag(request, tag):
    posts = queries.posts_with_tag(tag)
    return render(request, "blog/list.html", {"posts": posts})


def archive(request, year):
    return render(request, "blog/list.html", {"posts": queries.posts_of_year(year)})


def preview(request, text):
    return HttpResponse(text)


class ExportView(View):
    def get(self, request):
        fmt = request.GET.get("format", "csv")
        subprocess.run("export-posts --format " + fmt, shell=True)
        return HttpResponse("exported")


def search(request):
    query = request.GET.get("q", "")
    return render(request, "blog/search.html", {"query": query, "title": "Search"})
