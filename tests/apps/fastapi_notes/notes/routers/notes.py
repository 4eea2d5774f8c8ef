import os
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from ..deps import current_user, get_db

router = APIRouter()


class Note(BaseModel):
    title: str
    pinned: bool


@router.get("/{note_id}")
def read_note(note_id: int, db=Depends(get_db)):
    return db.execute("SELECT * FROM notes WHERE id = %d" % note_id).fetchone()


@router.get("/search/")
def search(q: str, db=Depends(get_db)):
    return db.execute("SELECT * FROM notes WHERE title LIKE '%" + q + "%'").fetchall()


@router.post("/")
def create(note: Note, user: Annotated[str, Depends(current_user)], db=Depends(get_db)):
    db.execute("INSERT INTO notes (title, pinned) VALUES (?, ?)", (note.title, note.pinned))
    os.system("notify-owner " + user)
    return {"ok": True}


@router.get("/render/{title}", response_class=HTMLResponse)
def render(title: str):
    return "<h1>" + title + "</h1>"
