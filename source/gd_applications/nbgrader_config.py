"""nbgrader 設定 / nbgrader settings of this assignment folder (for students).

nbgrader reads this file from the folder it is started in: JupyterLab's **Validate** button when
`jupyter lab` runs in this folder, and `nbgrader validate` run here. Keep it next to the notebooks.
"""

c = get_config()  # defined by nbgrader when it reads this file

# Validate runs the whole notebook again in a new kernel. nbgrader stops a cell after 30 s by
# default, which the TensorFlow import alone can take on a busy laptop; the course allows every
# cell 300 s, when it is graded as here.
# Validate 會在新的 kernel 重新執行整本筆記本;每格最多 300 秒,與評分時相同。
c.Execute.timeout = 300
