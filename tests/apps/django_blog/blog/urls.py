from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.index),
    path("post/<int:post_id>/", views.post_detail),
    path("tag/<str:tag>/", views.by_tag),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive),
    path("export/", views.ExportView.as_view()),
    path("search/", views.search),
]
